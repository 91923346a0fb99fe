-- The outbound lane's queries: incident news (timeline entries webhooks and Slack follow) fanned out
-- to deliveries, each leased, sent, and recorded; never pages.

-- name: claim_outbound_events
SELECT e.id, e.incident_id, e.log_id, e.kind, i.service
  FROM outbound_events e JOIN incidents i ON i.id = e.incident_id
 ORDER BY e.id
 LIMIT $1
   FOR UPDATE OF e SKIP LOCKED;

-- name: queue_deliveries
INSERT INTO deliveries (incident_id, log_id, event, target, created_at, not_before)
SELECT u.incident_id, u.log_id, u.event, u.target, $5, $5
  FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) WITH ORDINALITY
       AS u(incident_id, log_id, event, target, ord)
 ORDER BY u.ord
    ON CONFLICT (log_id, target) DO NOTHING;

-- name: drop_outbound_events
DELETE FROM outbound_events WHERE id = ANY($1::bigint[]);

-- name: claim_deliveries
-- Due deliveries, oldest first, each only once every earlier one to its target about its incident is
-- settled: a webhook hears `triggered` before `acknowledged`, Slack's message exists before it is edited.
WITH ready AS (
    SELECT d.id FROM deliveries d
     WHERE d.not_before <= $1
       AND (d.status = 'pending' OR (d.status = 'sending' AND d.lease_until <= $1))
       AND NOT EXISTS (SELECT 1 FROM deliveries e
                        WHERE e.incident_id = d.incident_id AND e.target = d.target AND e.id < d.id
                          AND e.status IN ('pending', 'sending'))
     ORDER BY d.not_before, d.id
     LIMIT $2
       FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE deliveries d
       SET status = 'sending', lease_until = $1 + $3::interval, attempts = d.attempts + 1
      FROM ready WHERE d.id = ready.id
 RETURNING d.*
)
SELECT c.id AS delivery_id, c.log_id, c.event, c.target, c.attempts, c.created_at AS queued_at,
       l.at AS entry_at, l.actor AS entry_actor, l.message AS entry_message, l.details AS entry_details,
       s.channel AS slack_channel, s.ts AS slack_ts, i.*
  FROM claimed c
  JOIN incidents i ON i.id = c.incident_id
  LEFT JOIN incident_log l ON l.id = c.log_id
  LEFT JOIN slack_messages s ON s.incident_id = c.incident_id
 ORDER BY c.id;

-- name: mark_deliveries_sent
UPDATE deliveries SET status = 'sent', sent_at = $2, lease_until = NULL, error = NULL WHERE id = ANY($1::bigint[]);

-- name: mark_deliveries_retry
UPDATE deliveries d
   SET status = 'pending', error = u.error, not_before = u.not_before, lease_until = NULL
  FROM unnest($1::bigint[], $2::text[], $3::timestamptz[]) AS u(id, error, not_before)
 WHERE d.id = u.id;

-- name: mark_deliveries_failed
UPDATE deliveries d
   SET status = 'failed', error = u.error, lease_until = NULL
  FROM unnest($1::bigint[], $2::text[]) AS u(id, error)
 WHERE d.id = u.id;

-- name: save_slack_messages
INSERT INTO slack_messages (incident_id, channel, ts, posted_at)
SELECT u.incident_id, u.channel, u.ts, $4
  FROM unnest($1::bigint[], $2::text[], $3::text[]) AS u(incident_id, channel, ts)
    ON CONFLICT (incident_id) DO NOTHING;

-- name: next_outbound_due
SELECT CASE WHEN EXISTS (SELECT 1 FROM outbound_events) THEN $1::timestamptz
            ELSE (SELECT min(CASE WHEN status = 'pending' THEN not_before ELSE greatest(not_before, lease_until) END)
                    FROM deliveries WHERE status IN ('pending', 'sending')) END;

-- name: follow_kinds
INSERT INTO outbound_kinds (kind) SELECT unnest($1::text[]) ON CONFLICT (kind) DO NOTHING;
