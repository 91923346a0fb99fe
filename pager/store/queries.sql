-- Every query the store runs, by name. Parameters are always bound ($n), never formatted in.

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
-- Running the incident: $7 is the acknowledger when a person (else NULL), who becomes commander when
-- there is none ($8 says so on the timeline); a person resolving skips a stability window; resolving
-- an incident stakeholders were told of arms the engine's all clear for them.
WITH old AS (
    SELECT commander FROM incidents WHERE id = $1
), changed AS (
    UPDATE incidents
       SET status = $6::text,
           acknowledged_at = CASE WHEN $6::text = 'acknowledged' THEN $2::timestamptz ELSE acknowledged_at END,
           acknowledged_by = CASE WHEN $6::text = 'acknowledged' THEN $3::text ELSE acknowledged_by END,
           resolved_at = CASE WHEN $6::text = 'resolved' THEN $2::timestamptz END,
           resolved_by = CASE WHEN $6::text = 'resolved' THEN $3::text END,
           next_escalation_at = NULL,
           commander = CASE WHEN $6::text = 'acknowledged' THEN coalesce(commander, $7::text) ELSE commander END,
           stable_until = CASE WHEN $6::text = 'resolved' THEN NULL ELSE stable_until END
     WHERE id = $1
       AND (status = 'triggered' OR ($6::text = 'resolved' AND status IN ('acknowledged', 'stabilizing')))
 RETURNING id, service, priority, created_at, recovered_at, stakeholders, drill
), logged AS (
    INSERT INTO incident_log (incident_id, at, kind, actor, message, details)
    SELECT e.id, $2, e.kind, $3, e.message, e.details
      FROM (SELECT c.id, 1 AS ord, $6::text AS kind, $4::text AS message, $5::jsonb AS details FROM changed c
            UNION ALL
            SELECT c.id, 2, 'role_changed', $8::text,
                   jsonb_build_object('role', 'commander', 'user', $7::text, 'was', NULL, 'via', $5::jsonb->>'via')
              FROM changed c, old o
             WHERE $6::text = 'acknowledged' AND $7::text IS NOT NULL AND o.commander IS NULL) AS e
     ORDER BY e.ord
), cancelled AS (
    UPDATE notifications SET status = 'cancelled', lease_until = NULL
     WHERE incident_id IN (SELECT id FROM changed) AND status = 'pending'
), all_clear AS (
    INSERT INTO timers (kind, subject, due_at, priority, incident_id)
    SELECT 'all_clear', id::text, $2, priority, id FROM changed
     WHERE $6::text = 'resolved' AND cardinality(stakeholders) > 0
        ON CONFLICT (kind, subject) DO NOTHING
    RETURNING incident_id
), notified AS (
    SELECT pg_notify('pager_incidents', incident_id::text) FROM all_clear
)
SELECT service, priority, created_at, recovered_at, drill, (SELECT count(*) FROM notified) AS all_clear
  FROM changed;

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
-- $5: the entry's details, or NULL: what the note tests and what came of it ({"hypothesis", "result"}),
-- and who wrote it through the API (the token's name).
INSERT INTO incident_log (incident_id, at, kind, actor, message, details)
SELECT id, $2, 'note', $3, $4, $5::jsonb FROM incidents WHERE id = $1
RETURNING id;

-- name: incident_updates
SELECT id, incident_id, at, by, status, known, doing, unknown, next_update_at
  FROM status_updates WHERE incident_id = $1 ORDER BY id;

-- name: status_page_incidents
-- The open incidents that the public status page shows: its services', P0 to P2, never a drill.
SELECT * FROM incidents
 WHERE status <> 'resolved' AND service = ANY($1::text[]) AND priority <= 2 AND NOT drill
 ORDER BY priority, id;

-- name: updates_of
SELECT id, incident_id, at, by, status, known, doing, unknown, next_update_at
  FROM status_updates WHERE incident_id = ANY($1::bigint[]) ORDER BY incident_id, id;

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
-- MTTR counts to recovery: when the alerts cleared (recovered_at), for an incident that stabilized first.
-- Drills are left out.
SELECT i.service, i.priority, w.name AS window,
       avg(extract(epoch FROM i.acknowledged_at - i.created_at))
           FILTER (WHERE i.acknowledged_at >= $1::timestamptz - w.span) AS mtta,
       count(*) FILTER (WHERE i.acknowledged_at >= $1::timestamptz - w.span) AS acknowledged,
       avg(extract(epoch FROM coalesce(i.recovered_at, i.resolved_at) - i.created_at))
           FILTER (WHERE i.resolved_at >= $1::timestamptz - w.span) AS mttr,
       count(*) FILTER (WHERE i.resolved_at >= $1::timestamptz - w.span) AS resolved
  FROM incidents i,
       (VALUES ('1d', interval '1 day'), ('7d', interval '7 days'), ('30d', interval '30 days')) AS w(name, span)
 WHERE (i.acknowledged_at >= $1::timestamptz - interval '30 days' OR i.resolved_at >= $1::timestamptz - interval '30 days')
   AND NOT i.drill
 GROUP BY i.service, i.priority, w.name;
