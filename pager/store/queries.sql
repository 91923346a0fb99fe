-- Every query the store runs, by name. Parameters are always bound ($n), never formatted in.

-- name: ingest
SELECT * FROM pager_ingest($1, $2, $3, $4, $5, $6);

-- name: ingest_many
-- Groups from concurrent requests in one statement and so one commit, in the order given.
SELECT r.*
  FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS g(doc, ord),
       LATERAL pager_ingest((g.doc->>'t')::timestamptz, g.doc->>'i', g.doc->>'s', g.doc->>'k', g.doc->>'p',
                            g.doc->'a') AS r
 ORDER BY g.ord;

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

-- name: transition
-- $1 id, $2 now, $3 actor, $4 message, $5 details, $6 the new status: 'acknowledged' or 'resolved'.
-- Pending pages are cancelled in the same statement: nobody is paged for an acknowledged incident.
WITH changed AS (
    UPDATE incidents
       SET status = $6::text,
           acknowledged_at = CASE WHEN $6::text = 'acknowledged' THEN $2::timestamptz ELSE acknowledged_at END,
           acknowledged_by = CASE WHEN $6::text = 'acknowledged' THEN $3::text ELSE acknowledged_by END,
           resolved_at = CASE WHEN $6::text = 'resolved' THEN $2::timestamptz END,
           resolved_by = CASE WHEN $6::text = 'resolved' THEN $3::text END,
           next_escalation_at = NULL
     WHERE id = $1 AND (status = 'triggered' OR ($6::text = 'resolved' AND status = 'acknowledged'))
 RETURNING id, service, priority, created_at, drill
), logged AS (
    INSERT INTO incident_log (incident_id, at, kind, actor, message, details)
    SELECT id, $2, $6::text, $3, $4, $5 FROM changed
), cancelled AS (
    UPDATE notifications SET status = 'cancelled', lease_until = NULL
     WHERE incident_id IN (SELECT id FROM changed) AND status = 'pending'
)
SELECT service, priority, created_at, drill FROM changed;

-- name: create_incident
WITH created AS (
    INSERT INTO incidents (service, dedup_key, integration, priority, priority_rule, summary, labels,
                           annotations, escalation_policy, next_escalation_at, created_at, last_seen_at)
    VALUES ($1, $2, NULL, $3, 'manual', $4, $5, $6, $7, $8, $8, $8)
    RETURNING id
), logged AS (
    INSERT INTO incident_log (incident_id, at, kind, actor, message, details)
    SELECT id, $8, 'triggered', $9, $10, $11 FROM created
), notified AS (
    SELECT pg_notify('pager_incidents', id::text) FROM created
)
SELECT id, (SELECT count(*) FROM notified) AS n FROM created;

-- name: add_note
-- $5: the entry's details (who wrote it through the API), or NULL.
INSERT INTO incident_log (incident_id, at, kind, actor, message, details)
SELECT id, $2, 'note', $3, $4, $5::jsonb FROM incidents WHERE id = $1
RETURNING id;

-- name: open_counts
-- Drills are left out: a dashboard alerting on open P0s must not fire for one.
SELECT service, priority, status, count(*) AS n
  FROM incidents WHERE status <> 'resolved' AND NOT drill
 GROUP BY service, priority, status;

-- name: ping
SELECT 1;

-- name: lock_incident
SELECT * FROM incidents WHERE id = $1 FOR UPDATE;

-- name: response_times
-- Exact MTTA/MTTR per service, priority and window: incidents acknowledged (resolved) within the window.
-- Drills are left out.
SELECT i.service, i.priority, w.name AS window,
       avg(extract(epoch FROM i.acknowledged_at - i.created_at))
           FILTER (WHERE i.acknowledged_at >= $1::timestamptz - w.span) AS mtta,
       count(*) FILTER (WHERE i.acknowledged_at >= $1::timestamptz - w.span) AS acknowledged,
       avg(extract(epoch FROM i.resolved_at - i.created_at))
           FILTER (WHERE i.resolved_at >= $1::timestamptz - w.span) AS mttr,
       count(*) FILTER (WHERE i.resolved_at >= $1::timestamptz - w.span) AS resolved
  FROM incidents i,
       (VALUES ('1d', interval '1 day'), ('7d', interval '7 days'), ('30d', interval '30 days')) AS w(name, span)
 WHERE (i.acknowledged_at >= $1::timestamptz - interval '30 days' OR i.resolved_at >= $1::timestamptz - interval '30 days')
   AND NOT i.drill
 GROUP BY i.service, i.priority, w.name;
