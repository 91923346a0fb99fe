-- Concurrent ingest batches that share dedup keys deadlocked: one batch's new incident (inserted,
-- not yet committed) was another's existing incident to lock, and each waited for the other (a
-- soak's first minute: hundreds, each costing deadlock_timeout, then retries or 503). The batch now
-- takes a transaction-scoped advisory lock on each of its dedup keys first, in one order, so
-- batches that meet on a key queue for it. A single-group statement (pager_ingest) touches one key
-- and can wait for a batch but never make one wait in turn, so it takes no lock.

CREATE OR REPLACE FUNCTION pager_ingest_many(p_groups jsonb)
RETURNS TABLE (ord bigint, incident_id bigint, created boolean, status text, deduplicated integer,
               priority smallint, created_at timestamptz, changed_to text, incident_service text,
               notify_user text, notice_seq bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_ord       bigint[];
    v_id        bigint[];
    v_priority  smallint[];
    v_created   timestamptz[];
    v_service   text[];
    r           record;
    v_key       bigint;
BEGIN
    -- Every dedup key of the batch, locked first and in one order (transaction-scoped advisory locks),
    -- before any row: two batches that share keys then queue for them instead of deadlocking.
    FOR v_key IN
        SELECT DISTINCT hashtextextended(x.doc->>'k', 0) FROM jsonb_array_elements(p_groups) AS x(doc) ORDER BY 1
    LOOP
        PERFORM pg_advisory_xact_lock(v_key);
    END LOOP;
    WITH g AS (
        SELECT x.ord AS g_ord, (x.doc->>'t')::timestamptz AS t, x.doc->>'i' AS i, x.doc->>'s' AS s,
               x.doc->>'k' AS k, x.doc->>'p' AS p, x.doc->'a' AS a, count(*) OVER (PARTITION BY x.doc->>'s', x.doc->>'k') AS same_key
          FROM jsonb_array_elements(p_groups) WITH ORDINALITY AS x(doc, ord)
    ), al AS (
        SELECT g.g_ord, e.a_ord, e.f, e.a AS action, e.p AS prio, e.r AS rule, e.s AS summary, e.l AS labels,
               e.n AS annotations, e.b AS starts, e.e AS ends, e.m AS blast
          FROM g, ROWS FROM (jsonb_to_recordset(g.a)
                             AS (f text, a text, p smallint, r text, s text, l jsonb, n jsonb, b timestamptz,
                                 e timestamptz, m jsonb)) WITH ORDINALITY AS e(f, a, p, r, s, l, n, b, e, m, a_ord)
         WHERE g.same_key = 1
    ), fit AS (
        SELECT al.g_ord, count(*) AS n
          FROM al
         GROUP BY al.g_ord
        HAVING bool_and(al.action = 'trigger') AND count(*) = count(DISTINCT al.f) AND bool_and(al.blast IS NULL)
    ), top AS (
        SELECT DISTINCT ON (al.g_ord) al.*, fit.n
          FROM al JOIN fit USING (g_ord)
         ORDER BY al.g_ord, al.prio, al.a_ord
    ), candidate AS (
        SELECT g.*, top.prio, top.rule, top.summary, top.labels, top.annotations, top.n
          FROM g JOIN top USING (g_ord)
         WHERE NOT EXISTS (SELECT 1 FROM incidents o WHERE o.service = g.s AND o.dedup_key = g.k AND o.status <> 'resolved')
    ), opened AS (
        INSERT INTO incidents AS o (service, dedup_key, integration, priority, priority_rule, summary, labels,
                                    annotations, escalation_policy, next_escalation_at, created_at, last_seen_at,
                                    alert_count)
        SELECT c.s, c.k, c.i, c.prio, c.rule, c.summary, c.labels, c.annotations, c.p,
               c.t, c.t, c.t, c.n
          FROM candidate c
         ORDER BY c.s, c.k
        ON CONFLICT (service, dedup_key) WHERE status <> 'resolved' DO NOTHING
        RETURNING o.id, o.service, o.dedup_key, o.priority, o.priority_rule, o.summary, o.created_at, o.integration,
                  o.alert_count
    ), done AS (
        SELECT c.g_ord, c.t, c.a, opened.*
          FROM opened JOIN candidate c ON c.s = opened.service AND c.k = opened.dedup_key
    ), alerts_in AS (
        INSERT INTO alerts (incident_id, fingerprint, status, priority, summary, labels, annotations, starts_at,
                            ends_at, first_seen_at, last_seen_at)
        SELECT d.id, al.f, 'firing', al.prio, al.summary, al.labels, al.annotations, al.starts, al.ends, d.t, d.t
          FROM done d JOIN al USING (g_ord)
    ), events_in AS (
        INSERT INTO alert_events (incident_id, integration, received_at, dedup_key, events)
        SELECT d.id, d.integration, d.t, d.dedup_key, d.a FROM done d
    ), logged AS (
        INSERT INTO incident_log (incident_id, at, kind, actor, message, details)
        SELECT d.id, d.t, 'triggered', 'integration:' || d.integration,
               format('Incident opened (%s) by %s: %s', 'P' || d.priority, d.integration, d.summary),
               jsonb_build_object('priority', 'P' || d.priority, 'rule', d.priority_rule, 'alerts', d.alert_count)
          FROM done d
    ), notified AS (
        SELECT pg_notify('pager_incidents', '') FROM (SELECT 1 FROM done LIMIT 1) AS any_opened
    )
    SELECT array_agg(d.g_ord), array_agg(d.id), array_agg(d.priority), array_agg(d.created_at), array_agg(d.service)
      INTO v_ord, v_id, v_priority, v_created, v_service
      FROM done d, (SELECT count(*) FROM notified) AS n;

    RETURN QUERY
    SELECT u.o, u.id, true, 'triggered'::text, 0, u.prio, u.at, NULL::text, u.svc, NULL::text, NULL::bigint
      FROM unnest(v_ord, v_id, v_priority, v_created, v_service) AS u(o, id, prio, at, svc);

    FOR r IN
        SELECT x.ord AS g_ord, x.doc
          FROM jsonb_array_elements(p_groups) WITH ORDINALITY AS x(doc, ord)
         WHERE x.ord <> ALL (coalesce(v_ord, '{}'))
         ORDER BY x.doc->>'s', x.doc->>'k', x.ord
    LOOP
        RETURN QUERY
        SELECT r.g_ord, i.*
          FROM pager_ingest((r.doc->>'t')::timestamptz, r.doc->>'i', r.doc->>'s', r.doc->>'k', r.doc->>'p',
                            r.doc->'a') AS i;
    END LOOP;
END;
$$;
