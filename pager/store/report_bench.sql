-- `pager bench-reports`: a synthetic history to time the incident report against.

-- name: report_bench_seed
-- $1 incidents opened over the $3 before $2, on 8 services, P0-P3 weighted towards P2/P3; 90% acknowledged
-- (after 10 s to 30 min), 97% resolved (after 1 min to 6 h); one alert of 20 names each, 1-6 events,
-- and a page (SMS and email) to one of 12 people. Deterministic (setseed).
WITH seed AS (SELECT setseed(0.15)),
g AS (
    SELECT n, random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5, random() AS r6
      FROM seed, generate_series(1, $1) AS n
), rows AS (
    SELECT n, 'svc-' || (n % 8) AS service,
           CASE WHEN r4 < 0.05 THEN 0 WHEN r4 < 0.2 THEN 1 WHEN r4 < 0.6 THEN 2 ELSE 3 END::smallint AS priority,
           $2::timestamptz - r1 * extract(epoch FROM $3::interval) * interval '1 second' AS created,
           r2, r3, r5, r6
      FROM g
), inserted AS (
    INSERT INTO incidents (service, dedup_key, priority, summary, status, created_at, last_seen_at,
                           acknowledged_at, acknowledged_by, resolved_at, resolved_by, alert_count)
    SELECT service, 'bench-' || n, priority, 'bench incident ' || n,
           CASE WHEN r3 < 0.97 THEN 'resolved' WHEN r2 < 0.9 THEN 'acknowledged' ELSE 'triggered' END,
           created, created,
           CASE WHEN r2 < 0.9 THEN created + (10 + r5 * 1790) * interval '1 second' END,
           CASE WHEN r2 < 0.9 THEN 'user-' || (n % 12) END,
           CASE WHEN r3 < 0.97 THEN created + (1800 + r6 * 19800) * interval '1 second' END,
           CASE WHEN r3 < 0.97 THEN 'bench' END,
           1
      FROM rows
    RETURNING id, created_at, priority
), alerted AS (
    INSERT INTO alerts (incident_id, fingerprint, status, priority, summary, labels, first_seen_at, last_seen_at)
    SELECT id, 'fp', 'resolved', priority, 'bench alert', jsonb_build_object('alertname', 'Alert' || (id % 20)),
           created_at, created_at
      FROM inserted
), evented AS (
    INSERT INTO alert_events (incident_id, received_at, dedup_key, events)
    SELECT id, created_at, 'bench',
           jsonb_build_array(jsonb_build_object('f', 'fp', 'a', 'trigger', 's', 'bench',
                                                'l', jsonb_build_object('alertname', 'Alert' || (id % 20))))
      FROM inserted, generate_series(1, 1 + (id % 6)::int)
), paged AS (
    INSERT INTO notifications (incident_id, round, step, user_id, channel, address, status, created_at, not_before,
                               sent_at, priority)
    SELECT id, 0, 0, 'user-' || (id % 12), c, 'x', 'sent', created_at, created_at, created_at + interval '1 second',
           priority
      FROM inserted, unnest(ARRAY['sms', 'email']) AS c
)
SELECT count(*) FROM inserted;

-- name: report_bench_changes
-- A deploy on each of the 8 services every $3 over the $2 before $1, at a minute of its own: the report's
-- "after a change" probes the changes of each incident's service.
INSERT INTO changes (service, integration, summary, at, received_at)
SELECT 'svc-' || s, 'bench', 'deploy svc-' || s || ' #' || k, t + s * interval '7 minutes', t + s * interval '7 minutes'
  FROM generate_series(0, 7) AS s,
       generate_series($1::timestamptz - $2::interval, $1::timestamptz, $3::interval) WITH ORDINALITY AS g(t, k);

-- name: report_bench_counts
-- What was seeded: incidents in the report's window [$1, $2), and changes.
SELECT (SELECT count(*) FROM incidents WHERE created_at >= $1 AND created_at < $2) AS window,
       (SELECT count(*) FROM changes) AS changed;
