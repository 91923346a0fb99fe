-- The engine's queries: claim due work (escalations and timers) per lane, write what was planned.

-- name: claim_due
-- The P2/P3 lane: due escalations of triggered incidents, oldest first; another engine's claims are
-- skipped, not waited for. The P0/P1 lane (claim_due_urgent) runs beside it, so the two never meet.
SELECT * FROM incidents
 WHERE next_escalation_at <= $1 AND status = 'triggered' AND priority >= 2
 ORDER BY priority, next_escalation_at
 LIMIT $2
   FOR UPDATE SKIP LOCKED;

-- name: claim_due_urgent
-- The P0/P1 lane: only what incidents_due_urgent holds, so a storm of P2/P3 work is never read.
SELECT * FROM incidents
 WHERE next_escalation_at <= $1 AND status = 'triggered' AND priority <= 1
 ORDER BY priority, next_escalation_at
 LIMIT $2
   FOR UPDATE SKIP LOCKED;

-- name: claim_timers
-- Due P2/P3 timers of incidents, oldest first. The incident is locked in the same statement and
-- skipped when another transaction holds it, so a claim never waits (and never deadlocks). It is
-- read by its key for each due timer (the LATERAL ... LIMIT 1 keeps the planner from hashing the
-- whole incidents table, as it did while statistics lagged behind a growing table).
SELECT t.kind AS timer_kind, t.subject AS timer_subject, t.due_at AS timer_due_at,
       t.priority AS timer_priority, t.data AS timer_data, i.*
  FROM timers t CROSS JOIN LATERAL (SELECT * FROM incidents WHERE id = t.incident_id LIMIT 1) AS i
 WHERE t.due_at <= $1 AND t.priority >= 2
 ORDER BY t.priority, t.due_at
 LIMIT $2
   FOR UPDATE OF t, i SKIP LOCKED;

-- name: claim_timers_urgent
SELECT t.kind AS timer_kind, t.subject AS timer_subject, t.due_at AS timer_due_at,
       t.priority AS timer_priority, t.data AS timer_data, i.*
  FROM timers t CROSS JOIN LATERAL (SELECT * FROM incidents WHERE id = t.incident_id LIMIT 1) AS i
 WHERE t.due_at <= $1 AND t.priority <= 1
 ORDER BY t.priority, t.due_at
 LIMIT $2
   FOR UPDATE OF t, i SKIP LOCKED;

-- name: claim_free_timers
-- Due P2/P3 timers that belong to no incident (a heartbeat, a maintenance window, a schedule).
SELECT kind AS timer_kind, subject AS timer_subject, due_at AS timer_due_at, priority AS timer_priority,
       data AS timer_data
  FROM timers
 WHERE due_at <= $1 AND incident_id IS NULL AND priority >= 2
 ORDER BY priority, due_at
 LIMIT $2
   FOR UPDATE SKIP LOCKED;

-- name: claim_free_timers_urgent
-- Due P0/P1 timers that belong to no incident. Each lane's claim names its priorities literally, so
-- that its partial index (timers_due_urgent, timers_due_lower) serves every plan, generic ones too.
SELECT kind AS timer_kind, subject AS timer_subject, due_at AS timer_due_at, priority AS timer_priority,
       data AS timer_data
  FROM timers
 WHERE due_at <= $1 AND incident_id IS NULL AND priority <= 1
 ORDER BY priority, due_at
 LIMIT $2
   FOR UPDATE SKIP LOCKED;

-- name: next_due
SELECT least((SELECT min(next_escalation_at) FROM incidents
               WHERE next_escalation_at IS NOT NULL AND status = 'triggered' AND priority >= 2),
             (SELECT min(due_at) FROM timers WHERE priority >= 2));

-- name: next_due_urgent
SELECT least((SELECT min(next_escalation_at) FROM incidents
               WHERE next_escalation_at IS NOT NULL AND status = 'triggered' AND priority <= 1),
             (SELECT min(due_at) FROM timers WHERE priority <= 1));

-- name: next_due_any
-- Both lanes' indexes (incidents_due_urgent, incidents_due_lower, timers_due_urgent, timers_due_lower).
SELECT least((SELECT min(next_escalation_at) FROM incidents
               WHERE next_escalation_at IS NOT NULL AND status = 'triggered' AND priority <= 1),
             (SELECT min(next_escalation_at) FROM incidents
               WHERE next_escalation_at IS NOT NULL AND status = 'triggered' AND priority >= 2),
             (SELECT min(due_at) FROM timers WHERE priority <= 1),
             (SELECT min(due_at) FROM timers WHERE priority >= 2));

-- name: save_escalations
UPDATE incidents i
   SET escalation_step = u.step, escalation_round = u.round, next_escalation_at = u.next_at,
       escalation_first_round = u.first_round
  FROM unnest($1::bigint[], $2::integer[], $3::integer[], $4::timestamptz[], $5::integer[])
       AS u(id, step, round, next_at, first_round)
 WHERE i.id = u.id;

-- name: set_targets
UPDATE incidents i SET ack_by = u.ack_by, resolve_by = u.resolve_by
  FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[]) AS u(id, ack_by, resolve_by)
 WHERE i.id = u.id;

-- name: queue_pages
-- A page carries its incident's priority, which orders the sender's claims.
INSERT INTO notifications (incident_id, round, step, user_id, channel, address, created_at, not_before, priority)
SELECT u.incident_id, u.round, u.step, u.user_id, u.channel, u.address, $7, $7, i.priority
  FROM unnest($1::bigint[], $2::bigint[], $3::integer[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY
       AS u(incident_id, round, step, user_id, channel, address, ord)
  JOIN incidents i ON i.id = u.incident_id
 ORDER BY u.ord
    ON CONFLICT (incident_id, round, step, user_id, channel) DO NOTHING
RETURNING id, priority;

-- name: append_log
INSERT INTO incident_log (incident_id, at, kind, actor, message, details)
SELECT u.incident_id, $1, u.kind, u.actor, u.message, u.details
  FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::jsonb[])
       AS u(incident_id, kind, actor, message, details);

-- name: set_timers
-- Arm timers; re-arming one that exists moves it (the newest setting wins).
INSERT INTO timers (kind, subject, due_at, priority, incident_id, data)
SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::smallint[], $5::bigint[], $6::jsonb[])
    ON CONFLICT (kind, subject) DO UPDATE
   SET due_at = EXCLUDED.due_at, priority = EXCLUDED.priority, incident_id = EXCLUDED.incident_id,
       data = EXCLUDED.data;

-- name: clear_timers
DELETE FROM timers t
 USING unnest($1::text[], $2::text[]) AS u(kind, subject)
 WHERE t.kind = u.kind AND t.subject = u.subject;

-- name: notify_outbox
-- $1: the lane woken, 'urgent' or 'routine' (pager.lanes.named)
SELECT pg_notify('pager_outbox', $1);

-- name: close_drills
-- Plan.close_drills: drills that are over resolve (by pager), their pending pages cancelled, the timeline told.
WITH changed AS (
    UPDATE incidents i
       SET status = 'resolved', resolved_at = $1, resolved_by = 'pager', next_escalation_at = NULL
     WHERE i.id = ANY($2::bigint[]) AND i.drill AND i.status <> 'resolved'
 RETURNING i.id
), logged AS (
    INSERT INTO incident_log (incident_id, at, kind, actor, message)
    SELECT id, $1, 'resolved', 'pager', 'Drill over: resolved by pager' FROM changed
), cancelled AS (
    UPDATE notifications SET status = 'cancelled', lease_until = NULL
     WHERE incident_id IN (SELECT id FROM changed) AND status = 'pending'
)
SELECT id FROM changed;

-- name: queue_notices
-- Plan.notices: mail that is not a page, for the mailer; $4 holds each notice's recipients, one a line.
WITH queued AS (
    INSERT INTO notices (kind, incident_id, recipients, subject, body, data, created_at, not_before)
    SELECT u.kind, u.incident_id, string_to_array(u.recipients, E'\n'), u.subject, u.body,
           u.data, $1, $1
      FROM unnest($2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::jsonb[])
           AS u(kind, incident_id, recipients, subject, body, data)
    RETURNING id
)
SELECT pg_notify('pager_notices', '') FROM (SELECT 1 FROM queued LIMIT 1) AS any_queued;

-- name: open_drills
-- Plan.drills (and POST /api/v1/drills): drill incidents, escalating from now like any new incident.
WITH u AS (
    SELECT * FROM unnest($2::text[], $3::text[], $4::smallint[], $5::text[], $6::text[], $7::text[])
                  WITH ORDINALITY AS u(service, policy, priority, summary, actor, dedup_key, ord)
), created AS (
    INSERT INTO incidents (service, dedup_key, priority, priority_rule, summary, escalation_policy,
                           next_escalation_at, created_at, last_seen_at, drill)
    SELECT service, dedup_key, priority, 'drill', summary, policy, $1, $1, $1, true FROM u ORDER BY ord
    RETURNING id, dedup_key
), logged AS (
    INSERT INTO incident_log (incident_id, at, kind, actor, message, details)
    SELECT c.id, $1, 'triggered', u.actor,
           format('Drill opened (P%s) by %s: %s', u.priority, u.actor, u.summary),
           jsonb_build_object('priority', 'P' || u.priority, 'rule', 'drill', 'drill', true)
      FROM created c JOIN u USING (dedup_key)
), notified AS (
    SELECT pg_notify('pager_incidents', id::text) FROM created
)
SELECT c.id, (SELECT count(*) FROM notified) AS n FROM created c JOIN u USING (dedup_key) ORDER BY u.ord;

-- name: expire_acks
-- An acknowledgement lapsed (priorities.*.ack_expires): triggered again, no longer acknowledged.
UPDATE incidents
   SET status = 'triggered', acknowledged_at = NULL, acknowledged_by = NULL
 WHERE id = ANY($1::bigint[]) AND status = 'acknowledged';

-- name: set_maintenance
-- The maintenance window holding each incident ($2 NULL: released).
UPDATE incidents i SET maintenance_id = u.window_id
  FROM unnest($1::bigint[], $2::bigint[]) AS u(id, window_id)
 WHERE i.id = u.id;

-- name: cancel_pending_pages
-- A maintenance window started: queued pages of its incidents are withdrawn, as an ack withdraws them.
UPDATE notifications SET status = 'cancelled', lease_until = NULL
 WHERE incident_id = ANY($1::bigint[]) AND status = 'pending';

-- name: open_missed_heartbeats
-- A heartbeat's deadline passed: open its incident (nothing if one is open under that key), and
-- record the miss. The engine pages it at its first claim, as any new incident.
WITH missed AS (
    SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::smallint[], $6::text[], $7::text[])
        AS u(heartbeat, service, policy, priority, summary, dedup_key)
), opened AS (
    INSERT INTO incidents (service, dedup_key, integration, priority, priority_rule, summary, labels,
                           annotations, escalation_policy, next_escalation_at, created_at, last_seen_at)
    SELECT m.service, m.dedup_key, NULL, m.priority, 'heartbeat', m.summary,
           jsonb_build_object('heartbeat', m.heartbeat), '{}', m.policy, $1, $1, $1
      FROM missed m
        ON CONFLICT (service, dedup_key) WHERE status <> 'resolved' DO NOTHING
    RETURNING id, dedup_key, service, summary, priority
), logged AS (
    INSERT INTO incident_log (incident_id, at, kind, actor, message, details)
    SELECT o.id, $1, 'triggered', 'heartbeat:' || m.heartbeat,
           format('Incident opened (P%s) by heartbeat %s: %s', o.priority, m.heartbeat, o.summary),
           jsonb_build_object('priority', 'P' || o.priority, 'rule', 'heartbeat', 'heartbeat', m.heartbeat)
      FROM opened o JOIN missed m ON m.service = o.service AND m.dedup_key = o.dedup_key
), notified AS (
    SELECT pg_notify('pager_incidents', id::text) FROM opened
)
UPDATE heartbeats h
   SET missed_at = $1,
       incident_id = coalesce((SELECT o.id FROM opened o JOIN missed m2 ON m2.service = o.service
                                AND m2.dedup_key = o.dedup_key WHERE m2.heartbeat = h.id), h.incident_id)
  FROM missed m
 WHERE h.id = m.heartbeat AND (SELECT count(*) FROM notified) >= 0;

-- Running the incident (issue 12): what its plans write.

-- name: resolve_quietly
-- A stabilizing incident whose window passed resolves; pending pages go with it.
WITH done AS (
    UPDATE incidents i
       SET status = 'resolved', resolved_at = u.at, resolved_by = u.actor, next_escalation_at = NULL
      FROM unnest($1::bigint[], $2::timestamptz[], $3::text[]) AS u(id, at, actor)
     WHERE i.id = u.id AND i.status = 'stabilizing'
 RETURNING i.id
), cancelled AS (
    UPDATE notifications SET status = 'cancelled', lease_until = NULL
     WHERE incident_id IN (SELECT id FROM done) AND status = 'pending'
)
SELECT count(*) FROM done;

-- name: set_roles
-- Per incident, each role either set (to a user or NULL) or left alone.
UPDATE incidents i
   SET commander = CASE WHEN u.c_set THEN u.c ELSE i.commander END,
       comms = CASE WHEN u.m_set THEN u.m ELSE i.comms END,
       tech_lead = CASE WHEN u.t_set THEN u.t ELSE i.tech_lead END,
       scribe = CASE WHEN u.s_set THEN u.s ELSE i.scribe END
  FROM unnest($1::bigint[], $2::boolean[], $3::text[], $4::boolean[], $5::text[], $6::boolean[], $7::text[],
              $8::boolean[], $9::text[]) AS u(id, c_set, c, m_set, m, t_set, t, s_set, s)
 WHERE i.id = u.id;

-- name: insert_updates
INSERT INTO status_updates (incident_id, at, by, status, known, doing, unknown, next_update_at)
SELECT u.incident_id, $1, u.by, u.status, u.known, u.doing, u.unknown, u.next_update_at
  FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[])
       WITH ORDINALITY AS u(incident_id, by, status, known, doing, unknown, next_update_at, ord)
 ORDER BY u.ord;

-- name: set_update_due
UPDATE incidents i SET next_update_due = u.due
  FROM unnest($1::bigint[], $2::timestamptz[]) AS u(id, due)
 WHERE i.id = u.id;

-- name: set_stable_for
UPDATE incidents i SET stable_for = u.stable_for
  FROM unnest($1::bigint[], $2::interval[]) AS u(id, stable_for)
 WHERE i.id = u.id;

-- name: add_told
UPDATE incidents i
   SET stakeholders = ARRAY(SELECT DISTINCT x FROM unnest(i.stakeholders || u.names) AS x ORDER BY x)
  FROM (SELECT t.id, array_agg(t.name) AS names
          FROM unnest($1::bigint[], $2::text[]) AS t(id, name) GROUP BY t.id) AS u
 WHERE i.id = u.id;

-- name: queue_stakeholder_mail
-- Stakeholder mail for the mail outbox ($5: recipients, one per line); a declaration or all clear already
-- queued stays as it was.
WITH queued AS (
    INSERT INTO stakeholder_mail (incident_id, stakeholder, event, recipients, subject, body, created_at,
                                  not_before)
    SELECT u.incident_id, u.stakeholder, u.event, string_to_array(u.recipients, E'\n'), u.subject, u.body, $1, $1
      FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) WITH ORDINALITY
           AS u(incident_id, stakeholder, event, recipients, subject, body, ord)
     ORDER BY u.ord
        ON CONFLICT (incident_id, stakeholder, event) WHERE event <> 'update' DO NOTHING
    RETURNING id
)
SELECT count(*) FROM queued;

-- name: notify_stakeholder_mail
SELECT pg_notify('pager_stakeholder_mail', '');

-- name: latest_update
SELECT id, incident_id, at, by, status, known, doing, unknown, next_update_at
  FROM status_updates WHERE incident_id = $1 ORDER BY id DESC LIMIT 1;
