-- Queries of the outbox sender: claim with a lease, record outcomes, fall back, hold for throttling.

-- name: claim_pages
-- Pending pages (and pages whose sender died mid-send: lease expired), leased to this sender.
WITH ready AS (
    SELECT id FROM notifications
     WHERE not_before <= $1
       AND (status = 'pending' OR (status = 'sending' AND lease_until <= $1))
     ORDER BY not_before, id
     LIMIT $2
       FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE notifications n
       SET status = 'sending', lease_until = $1 + $3::interval, attempts = n.attempts + 1
      FROM ready WHERE n.id = ready.id
 RETURNING n.*
)
SELECT c.id, c.incident_id, c.round, c.step, c.user_id, c.channel, c.address, c.created_at, c.attempts,
       i.priority, i.service, i.summary, i.status AS incident_status, i.annotations,
       NOT EXISTS (SELECT 1 FROM notifications o
                    WHERE o.incident_id = c.incident_id AND o.status IN ('sent', 'delivered')) AS first_page
  FROM claimed c JOIN incidents i ON i.id = c.incident_id
 ORDER BY c.not_before, c.id;

-- name: recent_sends
-- Messages, not pages: one SMS that bundled six pages counts once.
SELECT address, count(DISTINCT coalesce(provider_id, id::text)) AS n, min(sent_at) AS oldest
  FROM notifications
 WHERE channel = $1 AND address = ANY($2::text[]) AND sent_at > $3
 GROUP BY address;

-- name: lock_provider_ids
-- Taken by the sender before it records a provider id and by a delivery report before it looks for one,
-- so a report racing the send record waits for it instead of missing it; held to the end of the transaction.
-- Two-key advisory locks never collide with migrate's one-key lock.
SELECT pg_advisory_xact_lock(1885431653, hashtext(p))
  FROM (SELECT DISTINCT p FROM unnest($1::text[]) AS p WHERE p IS NOT NULL ORDER BY p) AS ids;

-- name: mark_sent
UPDATE notifications n
   SET status = 'sent', provider_id = u.provider_id, sent_at = $2, lease_until = NULL, error = NULL
  FROM unnest($1::bigint[], $3::text[]) AS u(id, provider_id)
 WHERE n.id = u.id AND n.status = 'sending';

-- name: mark_failed
UPDATE notifications n
   SET status = 'failed', error = $2, lease_until = NULL
 WHERE n.id = ANY($1::bigint[]);

-- name: mark_retry
UPDATE notifications n
   SET status = 'pending', error = $2, not_before = $3, lease_until = NULL
 WHERE n.id = ANY($1::bigint[]);

-- name: hold_pages
UPDATE notifications n
   SET status = 'pending', not_before = $2, lease_until = NULL, attempts = n.attempts - 1
 WHERE n.id = ANY($1::bigint[]);

-- name: queue_fallback
INSERT INTO notifications (incident_id, round, step, user_id, channel, address, created_at, not_before)
SELECT n.incident_id, n.round, n.step, n.user_id, u.channel, u.address, $2, $2
  FROM notifications n, unnest($3::text[], $4::text[]) AS u(channel, address)
 WHERE n.id = $1
    ON CONFLICT (incident_id, round, step, user_id, channel) DO NOTHING
RETURNING id, channel;

-- name: record_delivery
-- Any report but 'delivered' (Twilio: undelivered, failed) fails the page.
UPDATE notifications
   SET status = CASE WHEN $2 = 'delivered' THEN 'delivered' ELSE 'failed' END,
       delivered_at = CASE WHEN $2 = 'delivered' THEN $3::timestamptz END,
       error = CASE WHEN $2 = 'delivered' THEN error ELSE $4 END
 WHERE provider_id = $1 AND status IN ('sending', 'sent')
RETURNING id, incident_id, user_id, channel, status, $2::text AS report, error;

-- name: keep_delivery_report
-- A report for a provider id no page carries yet, kept for mark_sent; reports kept a day ago are dropped.
WITH pruned AS (
    DELETE FROM delivery_reports_pending WHERE received_at < $4::timestamptz - interval '1 day'
)
INSERT INTO delivery_reports_pending (provider_id, status, error, received_at)
SELECT $1, $2, $3, $4
 WHERE NOT EXISTS (SELECT 1 FROM notifications WHERE provider_id = $1)
    ON CONFLICT (provider_id) DO NOTHING;

-- name: take_delivery_reports
DELETE FROM delivery_reports_pending WHERE provider_id = ANY($1::text[])
RETURNING provider_id, status, error, received_at;

-- name: next_page_due
SELECT min(CASE WHEN status = 'pending' THEN not_before ELSE greatest(not_before, lease_until) END)
  FROM notifications WHERE status IN ('pending', 'sending');

-- name: cancel_pages
UPDATE notifications SET status = 'cancelled', lease_until = NULL WHERE id = ANY($1::bigint[]);

-- name: reachable_elsewhere
-- Whether the same page is still on its way to this user on another channel.
SELECT EXISTS (
    SELECT 1 FROM notifications o JOIN notifications n ON n.id = $1
     WHERE o.incident_id = n.incident_id AND o.round = n.round AND o.step = n.step
       AND o.user_id = n.user_id AND o.channel <> n.channel
       AND o.status NOT IN ('failed', 'cancelled'));
