-- Heartbeats (store/heartbeats.py): each one's last beat, and the incident its silence opened.

-- name: register_heartbeats
-- Heartbeats configured for the first time get a row and their first deadline; known ones keep theirs.
WITH new AS (
    INSERT INTO heartbeats (id, registered_at)
    SELECT id, $2 FROM unnest($1::text[]) AS id
        ON CONFLICT (id) DO NOTHING
    RETURNING id
)
INSERT INTO timers (kind, subject, due_at, priority, incident_id, data)
SELECT 'heartbeat', u.id, u.due_at, u.priority, NULL, u.data
  FROM unnest($1::text[], $3::timestamptz[], $4::smallint[], $5::jsonb[]) AS u(id, due_at, priority, data)
  JOIN new USING (id)
    ON CONFLICT (kind, subject) DO NOTHING;

-- name: lock_heartbeat
WITH ensured AS (
    INSERT INTO heartbeats (id, registered_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING
)
SELECT 1;

-- name: heartbeat_for_update
SELECT * FROM heartbeats WHERE id = $1 FOR UPDATE;

-- name: record_beat
UPDATE heartbeats SET last_beat_at = $2, missed_at = NULL, incident_id = NULL WHERE id = $1;

-- name: list_heartbeats
SELECT h.id, h.registered_at, h.last_beat_at, h.missed_at, h.incident_id, t.due_at AS deadline
  FROM heartbeats h
  LEFT JOIN timers t ON t.kind = 'heartbeat' AND t.subject = h.id
 WHERE h.id = ANY($1::text[]);
