-- Queries of the stakeholder mail sender: its own outbox, leased like pages, never counted as one.

-- name: claim_stakeholder_mail
WITH ready AS (
    SELECT id FROM stakeholder_mail
     WHERE not_before <= $1 AND (status = 'pending' OR (status = 'sending' AND lease_until <= $1))
     ORDER BY not_before, id
     LIMIT $2
       FOR UPDATE SKIP LOCKED
)
UPDATE stakeholder_mail m
   SET status = 'sending', lease_until = $1 + $3::interval, attempts = m.attempts + 1
  FROM ready WHERE m.id = ready.id
RETURNING m.id, m.incident_id, m.stakeholder, m.event, m.recipients, m.subject, m.body, m.attempts;

-- name: stakeholder_mail_sent
UPDATE stakeholder_mail m
   SET status = 'sent', sent_at = $2, lease_until = NULL, error = NULL, message_id = u.message_id
  FROM unnest($1::bigint[], $3::text[]) AS u(id, message_id)
 WHERE m.id = u.id AND m.status = 'sending';

-- name: stakeholder_mail_retry
UPDATE stakeholder_mail m
   SET status = 'pending', error = u.error, not_before = u.not_before, lease_until = NULL
  FROM unnest($1::bigint[], $2::text[], $3::timestamptz[]) AS u(id, error, not_before)
 WHERE m.id = u.id AND m.status = 'sending';

-- name: stakeholder_mail_failed
UPDATE stakeholder_mail m
   SET status = 'failed', error = u.error, lease_until = NULL
  FROM unnest($1::bigint[], $2::text[]) AS u(id, error)
 WHERE m.id = u.id AND m.status = 'sending';

-- name: next_stakeholder_mail_due
SELECT min(CASE WHEN status = 'pending' THEN not_before ELSE greatest(not_before, lease_until) END)
  FROM stakeholder_mail WHERE status IN ('pending', 'sending');
