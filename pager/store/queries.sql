-- Every query the store runs, by name. Parameters are always bound ($n), never formatted in.

-- name: ingest
SELECT * FROM pager_ingest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14);

-- name: list_incidents
SELECT * FROM incidents
 WHERE ($1::text IS NULL OR status = $1)
   AND ($2::text IS NULL OR service = $2)
   AND ($3::smallint IS NULL OR priority = $3)
   AND ($4::bigint IS NULL OR id < $4)
 ORDER BY id DESC
 LIMIT $5;

-- name: list_open_incidents
SELECT * FROM incidents
 WHERE status <> 'resolved'
   AND ($1::text IS NULL OR status = $1)
   AND ($2::text IS NULL OR service = $2)
   AND ($3::smallint IS NULL OR priority = $3)
   AND ($4::bigint IS NULL OR id < $4)
 ORDER BY id DESC
 LIMIT $5;

-- name: get_incident
SELECT * FROM incidents WHERE id = $1;

-- name: incident_alerts
SELECT fingerprint, status, priority, summary, labels, annotations, starts_at, ends_at,
       first_seen_at, last_seen_at
  FROM alerts WHERE incident_id = $1 ORDER BY first_seen_at, fingerprint;

-- name: incident_log
SELECT id, at, kind, actor, message, details FROM incident_log WHERE incident_id = $1 ORDER BY id;

-- name: acknowledge
-- $1 id, $2 now, $3 actor, $4 message, $5 details
WITH changed AS (
    UPDATE incidents
       SET status = 'acknowledged', acknowledged_at = $2, acknowledged_by = $3, next_escalation_at = NULL
     WHERE id = $1 AND status = 'triggered'
 RETURNING id
), logged AS (
    INSERT INTO incident_log (incident_id, at, kind, actor, message, details)
    SELECT id, $2, 'acknowledged', $3, $4, $5 FROM changed
), notified AS (
    SELECT pg_notify('pager_incidents', id::text) FROM changed
)
SELECT (SELECT count(*) FROM changed) > 0 AS changed, (SELECT count(*) FROM notified) AS n;

-- name: resolve
WITH changed AS (
    UPDATE incidents
       SET status = 'resolved', resolved_at = $2, resolved_by = $3, next_escalation_at = NULL
     WHERE id = $1 AND status <> 'resolved'
 RETURNING id
), logged AS (
    INSERT INTO incident_log (incident_id, at, kind, actor, message, details)
    SELECT id, $2, 'resolved', $3, $4, $5 FROM changed
), notified AS (
    SELECT pg_notify('pager_incidents', id::text) FROM changed
)
SELECT (SELECT count(*) FROM changed) > 0 AS changed, (SELECT count(*) FROM notified) AS n;

-- name: create_incident
WITH created AS (
    INSERT INTO incidents (service, dedup_key, integration, priority, priority_rule, summary, labels,
                           annotations, escalation_policy, next_escalation_at, created_at, last_seen_at)
    VALUES ($1, $2, NULL, $3, 'manual', $4, $5, $6, $7, CASE WHEN $7::text IS NULL THEN NULL ELSE $8::timestamptz END, $8, $8)
    RETURNING id
), logged AS (
    INSERT INTO incident_log (incident_id, at, kind, actor, message, details)
    SELECT id, $8, 'triggered', $9, $10, $11 FROM created
), notified AS (
    SELECT pg_notify('pager_incidents', id::text) FROM created
)
SELECT id, (SELECT count(*) FROM notified) AS n FROM created;

-- name: add_note
INSERT INTO incident_log (incident_id, at, kind, actor, message, details)
SELECT id, $2, 'note', $3, $4, NULL FROM incidents WHERE id = $1
RETURNING id;

-- name: open_counts
SELECT service, priority, status, count(*) AS n
  FROM incidents WHERE status <> 'resolved'
 GROUP BY service, priority, status;

-- name: ping
SELECT 1;
