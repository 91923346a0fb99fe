-- The incident report (GET /api/v1/reports/incidents): every figure aggregated here, over incidents
-- opened in [$1, $2), one service or all ($3, NULL: all), drills left out. Zones come as two arrays
-- (ids, IANA names); anyone not listed is in UTC. Weeks are UTC weeks from Monday 00:00. MTTR runs
-- to the moment the alerts cleared when a stable window followed (recovered_at), as the metrics do.

-- name: report_response
-- This period and the previous one ([$3, $1)), per service and priority; here the service is $4.
SELECT CASE WHEN i.created_at >= $1 THEN 'current' ELSE 'previous' END AS period,
       i.service, i.priority,
       count(*) AS incidents,
       count(*) FILTER (WHERE i.status <> 'resolved') AS open,
       count(i.acknowledged_at) AS acknowledged,
       avg(extract(epoch FROM i.acknowledged_at - i.created_at)) AS mtta,
       count(i.resolved_at) AS resolved,
       avg(extract(epoch FROM coalesce(i.recovered_at, i.resolved_at) - i.created_at)) FILTER (WHERE i.resolved_at IS NOT NULL) AS mttr
  FROM incidents i
 WHERE i.created_at >= $3 AND i.created_at < $2 AND NOT i.drill AND ($4::text IS NULL OR i.service = $4)
 GROUP BY 1, 2, 3;

-- name: report_hour_of_week
-- Day of week (0 = Monday) and hour of each incident's opening, in its service's zone.
WITH z AS (SELECT * FROM unnest($4::text[], $5::text[]) AS z(service, zone)),
opened AS (
    SELECT i.created_at AT TIME ZONE coalesce(z.zone, 'UTC') AS local
      FROM incidents i LEFT JOIN z ON z.service = i.service
     WHERE i.created_at >= $1 AND i.created_at < $2 AND NOT i.drill AND ($3::text IS NULL OR i.service = $3)
)
SELECT extract(isodow FROM local)::int - 1 AS dow, extract(hour FROM local)::int AS hour, count(*) AS n
  FROM opened GROUP BY 1, 2;

-- name: report_trend
-- MTTA/MTTR per bucket of $4 from $1, and per priority: the picture's trend line.
SELECT date_bin($4::interval, i.created_at, $1) AS bucket, i.priority,
       count(*) AS incidents,
       avg(extract(epoch FROM i.acknowledged_at - i.created_at)) AS mtta,
       avg(extract(epoch FROM coalesce(i.recovered_at, i.resolved_at) - i.created_at)) FILTER (WHERE i.resolved_at IS NOT NULL) AS mttr
  FROM incidents i
 WHERE i.created_at >= $1 AND i.created_at < $2 AND NOT i.drill AND ($3::text IS NULL OR i.service = $3)
 GROUP BY 1, 2;

-- name: report_noisy
-- Alert names by the events they sent, the noisiest first ($4: how many); events are counted by the
-- name each one carried, alerts and incidents by the alerts' names, and the two meet by name.
WITH win AS (
    SELECT id FROM incidents
     WHERE created_at >= $1 AND created_at < $2 AND NOT drill AND ($3::text IS NULL OR service = $3)
), events AS (
    SELECT coalesce(x->'l'->>'alertname', x->>'s') AS name, count(*) AS events
      FROM alert_events e JOIN win ON win.id = e.incident_id, jsonb_array_elements(e.events) AS x
     GROUP BY 1
), per_incident AS (
    SELECT coalesce(a.labels->>'alertname', a.summary) AS name, a.incident_id, count(*) AS alerts
      FROM alerts a JOIN win ON win.id = a.incident_id
     GROUP BY 1, 2
), named AS (
    SELECT name, count(*) AS incidents, sum(alerts)::bigint AS alerts FROM per_incident GROUP BY 1
)
SELECT n.name, n.incidents, n.alerts, coalesce(e.events, 0)::bigint AS events
  FROM named n LEFT JOIN events e USING (name)
 ORDER BY events DESC, n.alerts DESC, n.name
 LIMIT $4;

-- name: report_pages
-- Times each person was paged (one step of one incident, however many channels), per UTC week, and
-- how many of those were at night (22:00-07:00 in the person's zone: $4 users, $5 zones).
WITH z AS (SELECT * FROM unnest($4::text[], $5::text[]) AS z(user_id, zone)),
paged AS (
    SELECT n.user_id, min(n.sent_at) AS at
      FROM notifications n JOIN incidents i ON i.id = n.incident_id
     WHERE n.sent_at >= $1 AND n.sent_at < $2 AND NOT i.drill AND ($3::text IS NULL OR i.service = $3)
     GROUP BY n.user_id, n.incident_id, n.round, n.step
), local AS (
    SELECT p.user_id, p.at, extract(hour FROM p.at AT TIME ZONE coalesce(z.zone, 'UTC')) AS hour
      FROM paged p LEFT JOIN z ON z.user_id = p.user_id
)
SELECT user_id, (date_trunc('week', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS week,
       count(*) AS pages, count(*) FILTER (WHERE hour >= 22 OR hour < 7) AS night
  FROM local GROUP BY 1, 2;

-- name: report_holding
-- Hours each person held incidents (acknowledged by them until resolved), split by UTC week, within [$1, $2).
WITH held AS (
    SELECT i.acknowledged_by AS user_id, greatest(i.acknowledged_at, $1) AS a, least(coalesce(i.resolved_at, $2), $2) AS b
      FROM incidents i
     WHERE i.acknowledged_at < $2 AND (i.resolved_at IS NULL OR i.resolved_at > $1)
       AND i.acknowledged_by IS NOT NULL AND NOT i.drill AND ($3::text IS NULL OR i.service = $3)
), weeks AS (
    SELECT h.user_id, h.a, h.b, w.week
      FROM held h,
           LATERAL generate_series(date_trunc('week', h.a AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
                                   h.b, interval '168 hours') AS w(week)
     WHERE h.b > h.a
)
SELECT user_id, week,
       sum(extract(epoch FROM least(b, week + interval '168 hours') - greatest(a, week))) / 3600.0 AS hours
  FROM weeks WHERE least(b, week + interval '168 hours') > greatest(a, week)
 GROUP BY 1, 2;

-- name: report_drills
SELECT count(*) AS drills, count(acknowledged_at) AS acknowledged
  FROM incidents
 WHERE drill AND created_at >= $1 AND created_at < $2 AND ($3::text IS NULL OR service = $3);

-- name: report_after_change
-- Incidents (this period and the previous one, [$4, $1)) per service and priority, and how many of them
-- opened within $5 after a change of their own service: a change at or before the opening, at most $5
-- before it (the window of an incident's recent_changes). One index probe of changes_service_at each.
SELECT CASE WHEN i.created_at >= $1 THEN 'current' ELSE 'previous' END AS period,
       i.service, i.priority, count(*) AS incidents,
       count(*) FILTER (WHERE EXISTS (
           SELECT 1 FROM changes c
            WHERE c.service = i.service AND c.at <= i.created_at AND c.at >= i.created_at - $5::interval
       )) AS after_change
  FROM incidents i
 WHERE i.created_at >= $4 AND i.created_at < $2 AND NOT i.drill AND ($3::text IS NULL OR i.service = $3)
 GROUP BY 1, 2, 3;

-- name: report_changes
-- Changes recorded in [$1, $2) per service, and how many were followed within $4 by an incident of their
-- service (a drill is no incident).
SELECT c.service, count(*) AS changes,
       count(*) FILTER (WHERE EXISTS (
           SELECT 1 FROM incidents i
            WHERE i.service = c.service AND NOT i.drill
              AND i.created_at >= c.at AND i.created_at <= c.at + $4::interval AND i.created_at < $2
       )) AS followed
  FROM changes c
 WHERE c.at >= $1 AND c.at < $2 AND ($3::text IS NULL OR c.service = $3)
 GROUP BY 1;

-- name: report_changes_recorded
-- Whether the scope has any change before $1 at all: if not, nothing sends change events, and whether
-- incidents follow changes cannot be told.
SELECT EXISTS (SELECT 1 FROM changes WHERE at < $1 AND ($2::text IS NULL OR service = $2));

-- name: report_memory
-- The report's aggregates sort and hash some 100,000 rows at a time: give this transaction the memory to
-- do it in RAM (PostgreSQL's default 4 MB spills them to disk). Local to the transaction.
SELECT set_config('work_mem', '64MB', true);
