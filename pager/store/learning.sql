-- Learning from incidents: post-mortems, action items, drills and the notices (mail that is not a page).

-- name: incident_pages
SELECT user_id, channel, round, step, status, created_at, sent_at, delivered_at, error, attempts
  FROM notifications WHERE incident_id = $1 ORDER BY created_at, id;

-- name: get_postmortem
SELECT body, created_at, updated_at, updated_by FROM postmortems WHERE incident_id = $1;

-- name: save_postmortem
-- A saved post-mortem is written: its due-date timer goes in the same statement.
WITH saved AS (
    INSERT INTO postmortems (incident_id, body, created_at, updated_at, updated_by)
    SELECT id, $2, $3, $3, $4 FROM incidents WHERE id = $1
        ON CONFLICT (incident_id) DO UPDATE
       SET body = EXCLUDED.body, updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by
    RETURNING incident_id, created_at, updated_at, updated_by
), cleared AS (
    DELETE FROM timers WHERE kind = 'postmortem_due' AND subject = $1::text AND EXISTS (SELECT 1 FROM saved)
)
SELECT * FROM saved;

-- name: postmortems_overdue
-- Incidents whose post-mortem went overdue (a postmortem_overdue entry) and is still not saved.
SELECT count(DISTINCT l.incident_id)
  FROM incident_log l JOIN incidents i ON i.id = l.incident_id
 WHERE l.kind = 'postmortem_overdue' AND i.status = 'resolved'
   AND NOT EXISTS (SELECT 1 FROM postmortems p WHERE p.incident_id = l.incident_id);

-- name: add_action
-- The item and its reminder timer ($5: when it comes due), in one statement.
WITH inc AS (
    SELECT id FROM incidents WHERE id = $1
), added AS (
    INSERT INTO action_items (incident_id, title, owner, due, created_at, created_by)
    SELECT id, $2, $3, $4, $6, $7 FROM inc
    RETURNING *
), armed AS (
    INSERT INTO timers (kind, subject, due_at, priority, incident_id, data)
    SELECT 'action_due', a.id::text, $5, 3, a.incident_id,
           jsonb_build_object('id', a.id, 'title', a.title, 'owner', a.owner, 'due', a.due::text)
      FROM added a
)
SELECT * FROM added;

-- name: list_actions
SELECT * FROM action_items
 WHERE ($1::text IS NULL OR status = $1)
   AND ($2::bigint IS NULL OR incident_id = $2)
   AND ($3::text IS NULL OR owner = $3)
 ORDER BY due, id
 LIMIT $4;

-- name: get_action
SELECT * FROM action_items WHERE id = $1;

-- name: action_done
-- Done: the reminder timer goes in the same statement.
WITH done AS (
    UPDATE action_items SET status = 'done', done_at = $2, done_by = $3
     WHERE id = $1 AND status = 'open'
    RETURNING *
), cleared AS (
    DELETE FROM timers WHERE kind = 'action_due' AND subject = $1::text
)
SELECT * FROM done;

-- name: incident_actions
SELECT * FROM action_items WHERE incident_id = $1 ORDER BY id;

-- name: claim_notices
-- Pending mail (and mail whose mailer died mid-send: lease expired), oldest first, leased to this mailer.
WITH ready AS (
    SELECT id FROM notices
     WHERE not_before <= $1 AND (status = 'pending' OR (status = 'sending' AND lease_until <= $1))
     ORDER BY not_before, id
     LIMIT $2
       FOR UPDATE SKIP LOCKED
)
UPDATE notices m
   SET status = 'sending', lease_until = $1 + $3::interval, attempts = m.attempts + 1
  FROM ready WHERE m.id = ready.id
RETURNING m.id, m.kind, m.incident_id, m.recipients, m.subject, m.body, m.data, m.attempts, m.created_at;

-- name: notice_sent
UPDATE notices SET status = 'sent', sent_at = $2, lease_until = NULL, error = NULL WHERE id = $1;

-- name: notice_retry
UPDATE notices SET status = 'pending', error = $2, not_before = $3, lease_until = NULL WHERE id = $1;

-- name: notice_failed
UPDATE notices SET status = 'failed', error = $2, lease_until = NULL WHERE id = $1;

-- name: next_notice_due
SELECT min(CASE WHEN status = 'pending' THEN not_before ELSE greatest(not_before, lease_until) END)
  FROM notices WHERE status IN ('pending', 'sending');

-- name: arm_missing_timers
-- Timers the daemon arms at start (drill schedules, the digest): only those not armed yet.
INSERT INTO timers (kind, subject, due_at, priority, incident_id, data)
SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::smallint[], $5::bigint[], $6::jsonb[])
    ON CONFLICT (kind, subject) DO NOTHING;
