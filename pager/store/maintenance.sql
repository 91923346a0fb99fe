-- Maintenance windows (store/maintenance.py, pager/engine/maintenance.py).

-- name: add_maintenance
INSERT INTO maintenance_windows (services, matchers, starts_at, ends_at, reason, created_by, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING *;

-- name: current_maintenance
-- Active and upcoming windows at $1, soonest first.
SELECT * FROM maintenance_windows WHERE ends_at > $1 ORDER BY starts_at, id;

-- name: get_maintenance
SELECT * FROM maintenance_windows WHERE id = $1;

-- name: end_maintenance
-- Ended by a person before its time: it ends now (an upcoming one never starts).
UPDATE maintenance_windows
   SET ends_at = $2, starts_at = least(starts_at, $2), ended_by = $3
 WHERE id = $1 AND ends_at > $2
RETURNING *;

-- name: maintenance_windows
SELECT * FROM maintenance_windows WHERE id = ANY($1::bigint[]);

-- name: maintenance_candidates
-- Open incidents a starting window may hold, locked; those another transaction holds are skipped
-- (the window's timer comes back for them). Drills are never held.
SELECT * FROM incidents
 WHERE status <> 'resolved' AND NOT drill AND (service = ANY($1::text[]) OR $2::boolean)
 ORDER BY id
   FOR UPDATE SKIP LOCKED;

-- name: maintenance_candidates_count
SELECT count(*) FROM incidents WHERE status <> 'resolved' AND NOT drill AND (service = ANY($1::text[]) OR $2::boolean);

-- name: maintenance_held
SELECT * FROM incidents WHERE maintenance_id = $1 ORDER BY id FOR UPDATE SKIP LOCKED;

-- name: maintenance_held_count
SELECT count(*) FROM incidents WHERE maintenance_id = $1;

-- name: notify_incidents
-- Wake every engine: a window's timer is due now or sooner than they sleep.
SELECT pg_notify('pager_incidents', '');
