-- Read-only queries of `pager bench`: how far the engine and the sender are behind, and exact
-- per-timer escalation lateness. Nothing here is used by the daemon itself.

-- name: bench_backlog
-- Work due at $1 that the daemon has not done yet: timers to fire, pages to send, pages mid-send.
SELECT (SELECT count(*) FROM incidents
         WHERE next_escalation_at <= $1 AND status = 'triggered') AS due_timers,
       (SELECT count(*) FROM notifications
         WHERE status IN ('pending', 'sending') AND not_before <= $1) AS due_pages;

-- name: bench_open_incidents
SELECT count(*) FROM incidents WHERE status <> 'resolved';

-- name: bench_timer_progress
-- Incidents whose dedup key starts with $1: opened, step-2 timer armed (step 1 paged), step 2 fired.
SELECT count(*) AS opened,
       count(*) FILTER (WHERE escalation_step = 0 AND next_escalation_at IS NOT NULL
                          AND status = 'triggered') AS armed,
       count(*) FILTER (WHERE escalation_step >= 1 OR escalation_round >= 1) AS fired
  FROM incidents
 WHERE dedup_key LIKE $1 || '%';

-- name: bench_timer_lateness
-- Per timer: fired − due, in seconds. The step-2 timer is due $2 after step 1 was paged (the
-- engine anchors it at the instant it paged step 1), and fired when step 2 was queued; both
-- instants are the engine's own `now`, written as the pages' created_at.
SELECT extract(epoch FROM f.fired - (s.paged + $2::interval))::float8 AS lateness
  FROM incidents i
 CROSS JOIN LATERAL (SELECT min(n.created_at) AS paged FROM notifications n
                      WHERE n.incident_id = i.id AND n.round = 0 AND n.step = 0) s
 CROSS JOIN LATERAL (SELECT min(n.created_at) AS fired FROM notifications n
                      WHERE n.incident_id = i.id AND n.round = 0 AND n.step = 1) f
 WHERE i.dedup_key LIKE $1 || '%'
   AND s.paged IS NOT NULL AND f.fired IS NOT NULL
 ORDER BY 1;

-- name: bench_vacuum
-- Between phases, as pgbench vacuums before a run: statistics as autovacuum would have them a
-- minute later, so a phase is not measured against plans made while the tables were still empty.
VACUUM (ANALYZE);

-- name: bench_page_stages
-- Where the first page of each incident in $1 spent its time, in seconds, by the daemon's own clock:
-- committed (the incident's created_at is the instant ingest took the request) → queued by the
-- engine (the page's created_at) → recorded as sent by the sender (after the provider answered).
SELECT i.id,
       extract(epoch FROM n.created_at - i.created_at)::float8 AS queued,
       extract(epoch FROM n.sent_at - n.created_at)::float8 AS sent
  FROM incidents i
  JOIN LATERAL (SELECT created_at, sent_at FROM notifications
                 WHERE incident_id = i.id ORDER BY created_at, id LIMIT 1) n ON true
 WHERE i.id = ANY($1::bigint[]) AND n.sent_at IS NOT NULL;
