-- Queries of the outbox sender: claim with a lease, record outcomes, fall back, hold for throttling.

-- name: claim_pages
-- The P2/P3 lane: pending pages (and pages whose sender died mid-send: lease expired), oldest first,
-- leased to this sender. The lease commits before anything is sent.
WITH ready AS (
    SELECT id FROM notifications
     WHERE not_before <= $1 AND priority >= 2
       AND (status = 'pending' OR (status = 'sending' AND lease_until <= $1))
     ORDER BY priority, not_before, id
     LIMIT $2
       FOR UPDATE SKIP LOCKED
), claimed AS (
    -- The lease commits without waiting for the WAL flush (relaxed): nothing is sent before `prepare`,
    -- whose durable commit flushes the lease with it; a lease a crash loses only leaves the page pending.
    UPDATE notifications n
       SET status = 'sending', lease_until = $1 + $3::interval, attempts = n.attempts + 1
      FROM ready, (SELECT set_config('synchronous_commit', 'off', true)) AS relaxed
     WHERE n.id = ready.id
 RETURNING n.*
)
SELECT c.id, c.incident_id, c.round, c.step, c.user_id, c.channel, c.address, c.created_at, c.attempts,
       i.priority, i.service, i.summary, i.status AS incident_status, i.annotations, i.drill,
       NOT EXISTS (SELECT 1 FROM notifications o
                    WHERE o.incident_id = c.incident_id AND o.status IN ('sent', 'delivered')) AS first_page,
       c.channel = 'sms' AND EXISTS (SELECT 1 FROM sms_opt_outs s WHERE s.phone = c.address) AS opted_out,
       (SELECT ch.summary FROM changes ch  -- the SMS says "after deploy ..." (issue 14)
         WHERE ch.service = i.service AND ch.at <= i.created_at AND ch.at >= i.created_at - interval '2 hours'
         ORDER BY ch.at DESC, ch.id DESC LIMIT 1) AS recent_change
  FROM claimed c JOIN incidents i ON i.id = c.incident_id
 ORDER BY c.priority, c.not_before, c.id;

-- name: claim_pages_urgent
-- The P0/P1 lane: only what notifications_ready_urgent holds, so it never reads past a storm's pages.
WITH ready AS (
    SELECT id FROM notifications
     WHERE not_before <= $1 AND priority <= 1
       AND (status = 'pending' OR (status = 'sending' AND lease_until <= $1))
     ORDER BY priority, not_before, id
     LIMIT $2
       FOR UPDATE SKIP LOCKED
), claimed AS (
    -- The lease commits without waiting for the WAL flush (relaxed): nothing is sent before `prepare`,
    -- whose durable commit flushes the lease with it; a lease a crash loses only leaves the page pending.
    UPDATE notifications n
       SET status = 'sending', lease_until = $1 + $3::interval, attempts = n.attempts + 1
      FROM ready, (SELECT set_config('synchronous_commit', 'off', true)) AS relaxed
     WHERE n.id = ready.id
 RETURNING n.*
)
SELECT c.id, c.incident_id, c.round, c.step, c.user_id, c.channel, c.address, c.created_at, c.attempts,
       i.priority, i.service, i.summary, i.status AS incident_status, i.annotations, i.drill,
       NOT EXISTS (SELECT 1 FROM notifications o
                    WHERE o.incident_id = c.incident_id AND o.status IN ('sent', 'delivered')) AS first_page,
       c.channel = 'sms' AND EXISTS (SELECT 1 FROM sms_opt_outs s WHERE s.phone = c.address) AS opted_out,
       (SELECT ch.summary FROM changes ch  -- the SMS says "after deploy ..." (issue 14)
         WHERE ch.service = i.service AND ch.at <= i.created_at AND ch.at >= i.created_at - interval '2 hours'
         ORDER BY ch.at DESC, ch.id DESC LIMIT 1) AS recent_change
  FROM claimed c JOIN incidents i ON i.id = c.incident_id
 ORDER BY c.priority, c.not_before, c.id;

-- name: recent_sends
-- Messages, not pages, sent to these addresses since $3: one SMS that bundled six pages is one message,
-- as urgent as its most urgent page.
SELECT address, coalesce(provider_id, id::text) AS message, min(priority) AS priority, min(sent_at) AS sent_at
  FROM notifications
 WHERE channel = $1 AND address = ANY($2::text[]) AND sent_at > $3
 GROUP BY address, coalesce(provider_id, id::text);

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
   SET status = 'failed', error = u.error, lease_until = NULL
  FROM unnest($1::bigint[], $2::text[]) AS u(id, error)
 WHERE n.id = u.id;

-- name: mark_retry
UPDATE notifications n
   SET status = 'pending', error = u.error, not_before = u.not_before, lease_until = NULL
  FROM unnest($1::bigint[], $2::text[], $3::timestamptz[]) AS u(id, error, not_before)
 WHERE n.id = u.id;

-- name: hold_pages
UPDATE notifications n
   SET status = 'pending', not_before = u.until, lease_until = NULL, attempts = n.attempts - 1
  FROM unnest($1::bigint[], $2::timestamptz[]) AS u(id, until)
 WHERE n.id = u.id;

-- name: queue_fallback
-- The same pages on other channels: ($2, $3, $4) are (source page, channel, address) triples; answers
-- which source got which channel newly queued.
WITH wanted AS (
    SELECT u.source, u.ord, n.incident_id, n.round, n.step, n.user_id, u.channel, u.address, n.priority
      FROM unnest($2::bigint[], $3::text[], $4::text[]) WITH ORDINALITY AS u(source, channel, address, ord)
      JOIN notifications n ON n.id = u.source
), inserted AS (
    INSERT INTO notifications (incident_id, round, step, user_id, channel, address, created_at, not_before,
                               priority)
    SELECT incident_id, round, step, user_id, channel, address, $1, $1, priority FROM wanted ORDER BY ord
        ON CONFLICT (incident_id, round, step, user_id, channel) DO NOTHING
    RETURNING incident_id, round, step, user_id, channel
)
SELECT w.source, i.channel
  FROM inserted i JOIN wanted w USING (incident_id, round, step, user_id, channel)
 ORDER BY w.source, i.channel;

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
  FROM notifications WHERE status IN ('pending', 'sending') AND priority >= 2;

-- name: next_page_due_urgent
SELECT min(CASE WHEN status = 'pending' THEN not_before ELSE greatest(not_before, lease_until) END)
  FROM notifications WHERE status IN ('pending', 'sending') AND priority <= 1;

-- name: next_page_due_any
SELECT min(CASE WHEN status = 'pending' THEN not_before ELSE greatest(not_before, lease_until) END)
  FROM notifications WHERE status IN ('pending', 'sending');

-- name: cancel_pages
UPDATE notifications SET status = 'cancelled', lease_until = NULL WHERE id = ANY($1::bigint[]);

-- name: reachable_elsewhere
-- Which of these pages are still on their way to their user on another channel.
SELECT n.id
  FROM notifications n
 WHERE n.id = ANY($1::bigint[])
   AND EXISTS (SELECT 1 FROM notifications o
                WHERE o.incident_id = n.incident_id AND o.round = n.round AND o.step = n.step
                  AND o.user_id = n.user_id AND o.channel <> n.channel
                  AND o.status NOT IN ('failed', 'cancelled'));
