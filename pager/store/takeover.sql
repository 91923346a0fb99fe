-- Read-only figures of `pager bench --only takeover`: per escalation timer, when it was due, when
-- an engine fired it and when its page was sent, so timers due after a replica's death can be told
-- from those due before it. Nothing here is used by the daemon itself.

-- name: bench_timer_instants
-- Incidents keyed $1…: step 2 is due $2 after step 1 was queued (the engine anchors it there);
-- fired when step 2 was queued; sent when its page left. Epoch seconds; fired and sent may be null.
SELECT extract(epoch FROM s.paged + $2::interval)::float8 AS due,
       extract(epoch FROM f.fired)::float8 AS fired,
       extract(epoch FROM f.sent)::float8 AS sent
  FROM incidents i
 CROSS JOIN LATERAL (SELECT min(n.created_at) AS paged FROM notifications n
                      WHERE n.incident_id = i.id AND n.round = 0 AND n.step = 0) s
  LEFT JOIN LATERAL (SELECT min(n.created_at) AS fired, min(n.sent_at) AS sent FROM notifications n
                      WHERE n.incident_id = i.id AND n.round = 0 AND n.step = 1) f ON true
 WHERE i.dedup_key LIKE $1 || '%' AND s.paged IS NOT NULL
 ORDER BY 1;
