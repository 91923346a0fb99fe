-- No new incident notifies inside its ingest transaction any more, whatever its priority: the
-- caller announces it after COMMIT (pager.store.db.announce), naming the lane it wakes
-- (pager.lanes.named: 'urgent' for P0/P1, 'routine' for P2/P3).
--
-- 0094 did this for P2/P3 only. With every event of pager bench's single-event phase opening a P0,
-- PostgreSQL's samples showed ingest statements waiting on Lock:object (the database-wide lock a
-- NOTIFY holds to the end of its commit, WAL flush included) about as often as on the flush itself:
-- the commits of concurrent P0 ingests went one at a time. And a P0's notification woke the P2/P3
-- lane of every replica, to claim nothing, about an eighth of PostgreSQL's statement time.
--
-- The rare wake-ups (a raise, a relapse, an all clear) still notify here, waking both lanes.
-- Functions as in 0094 otherwise.

CREATE OR REPLACE FUNCTION pager_ingest(
    p_now           timestamptz,
    p_integration   text,
    p_service       text,
    p_dedup_key     text,
    p_policy        text,
    p_alerts        jsonb
) RETURNS TABLE (incident_id bigint, created boolean, status text, deduplicated integer,
                 priority smallint, created_at timestamptz, changed_to text,
                 incident_service text, notify_user text, notice_seq bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_inc       incidents%ROWTYPE;
    v_created   boolean := false;
    v_top       integer;
    v_actor     text := 'integration:' || p_integration;
    v_dups      integer := 0;
    v_firing    integer;
    v_count     integer;
    v_min       smallint;
    v_status    text;
    v_new       integer := 0;
    v_notice    bigint;
    -- issue 12: blast radius, the stability window, timers for the engine
    v_has_blast boolean;
    v_blast     smallint;
    v_blast_rule text;
    v_blast_n   integer;
    v_relapsed  boolean := false;
    v_wake      boolean := false;
    p_fingerprints  text[];
    p_actions       text[];
    p_priorities    smallint[];
    p_rules         text[];
    p_summaries     text[];
    p_labels        jsonb[];
    p_annotations   jsonb[];
    p_starts        timestamptz[];
    p_ends          timestamptz[];
    p_blasts        jsonb[];
BEGIN
    SELECT array_agg(a.f ORDER BY a.ord), array_agg(a.a ORDER BY a.ord), array_agg(a.p ORDER BY a.ord),
           array_agg(a.r ORDER BY a.ord), array_agg(a.s ORDER BY a.ord), array_agg(a.l ORDER BY a.ord),
           array_agg(a.n ORDER BY a.ord), array_agg(a.b ORDER BY a.ord), array_agg(a.e ORDER BY a.ord),
           array_agg(coalesce(a.m, '[]') ORDER BY a.ord), bool_or(a.m IS NOT NULL)
      INTO p_fingerprints, p_actions, p_priorities, p_rules, p_summaries, p_labels, p_annotations,
           p_starts, p_ends, p_blasts, v_has_blast
      FROM ROWS FROM (jsonb_to_recordset(p_alerts)
                      AS (f text, a text, p smallint, r text, s text, l jsonb, n jsonb, b timestamptz,
                          e timestamptz, m jsonb))
           WITH ORDINALITY AS a(f, a, p, r, s, l, n, b, e, m, ord);

    SELECT i INTO v_top FROM generate_subscripts(p_actions, 1) AS i
     WHERE p_actions[i] = 'trigger' ORDER BY p_priorities[i], i LIMIT 1;

    -- Without a trigger nothing opens; acknowledge/resolve find the incident by the
    -- key its integration gave it, whatever service the trigger was routed to.
    IF v_top IS NULL THEN
        SELECT * INTO v_inc FROM incidents
         WHERE integration = p_integration AND dedup_key = p_dedup_key AND status <> 'resolved'
         ORDER BY id LIMIT 1
         FOR UPDATE;
    END IF;

    WHILE v_top IS NOT NULL LOOP
        SELECT * INTO v_inc FROM incidents
         WHERE service = p_service AND dedup_key = p_dedup_key AND status <> 'resolved'
         FOR UPDATE;
        EXIT WHEN FOUND;
        INSERT INTO incidents (service, dedup_key, integration, priority, priority_rule, summary,
                               labels, annotations, escalation_policy, next_escalation_at,
                               created_at, last_seen_at, alert_count)
        VALUES (p_service, p_dedup_key, p_integration, p_priorities[v_top], p_rules[v_top],
                p_summaries[v_top], p_labels[v_top], p_annotations[v_top], p_policy,
                p_now, p_now, p_now,
                cardinality(p_fingerprints))
        ON CONFLICT (service, dedup_key) WHERE status <> 'resolved' DO NOTHING
        RETURNING * INTO v_inc;
        IF FOUND THEN
            v_created := true;
            EXIT;
        END IF;
    END LOOP;

    INSERT INTO alert_events (incident_id, integration, received_at, dedup_key, events)
    VALUES (v_inc.id, p_integration, p_now, p_dedup_key, p_alerts);

    IF v_inc.id IS NULL THEN
        RETURN QUERY SELECT NULL::bigint, false, 'ignored'::text, 0, NULL::smallint, NULL::timestamptz, NULL::text, NULL::text,
                            NULL::text, NULL::bigint;
        RETURN;
    END IF;

    IF v_created THEN
        INSERT INTO incident_log (incident_id, at, kind, actor, message, details)
        VALUES (v_inc.id, p_now, 'triggered', v_actor,
                format('Incident opened (%s) by %s: %s', 'P' || v_inc.priority, p_integration, v_inc.summary),
                jsonb_build_object('priority', 'P' || v_inc.priority, 'rule', v_inc.priority_rule,
                                   'alerts', cardinality(p_fingerprints)));
        -- Fast path: every alert new, distinct and firing, so the row was inserted complete
        -- (top priority, alert count) and there is nothing to compare, log per alert or update.
        IF p_actions <@ ARRAY['trigger'] AND NOT v_has_blast
           AND (cardinality(p_fingerprints) = 1
                OR cardinality(p_fingerprints) = (SELECT count(DISTINCT f) FROM unnest(p_fingerprints) AS f)) THEN
            INSERT INTO alerts (incident_id, fingerprint, status, priority, summary, labels, annotations,
                                starts_at, ends_at, first_seen_at, last_seen_at)
            SELECT v_inc.id, fp, 'firing', prio, summary, labels, annotations, starts, ends, p_now, p_now
              FROM unnest(p_fingerprints, p_priorities, p_summaries, p_labels, p_annotations, p_starts, p_ends)
                   AS t(fp, prio, summary, labels, annotations, starts, ends);
            RETURN QUERY SELECT v_inc.id, true, 'triggered'::text, 0, v_inc.priority, v_inc.created_at,
                                NULL::text, v_inc.service, NULL::text, NULL::bigint;
            RETURN;
        END IF;
    END IF;

    WITH input AS (
        SELECT DISTINCT ON (fp) *
          FROM unnest(p_fingerprints, p_actions, p_priorities, p_summaries, p_labels, p_annotations,
                      p_starts, p_ends, p_blasts) WITH ORDINALITY
               AS t(fp, action, prio, summary, labels, annotations, starts, ends, blast, ord)
         WHERE action <> 'acknowledge'
         ORDER BY fp, ord DESC
    ), old AS (
        SELECT a.fingerprint, a.status FROM alerts a
         WHERE a.incident_id = v_inc.id AND a.fingerprint IN (SELECT fp FROM input)
    ), up AS (
        INSERT INTO alerts AS a (incident_id, fingerprint, status, priority, summary, labels,
                                 annotations, starts_at, ends_at, first_seen_at, last_seen_at, blast)
        SELECT v_inc.id, fp, CASE action WHEN 'trigger' THEN 'firing' ELSE 'resolved' END, prio,
               summary, labels, annotations, starts, ends, p_now, p_now, blast
          FROM input
        ON CONFLICT (incident_id, fingerprint) DO UPDATE
           SET status = EXCLUDED.status, priority = EXCLUDED.priority, summary = EXCLUDED.summary,
               labels = EXCLUDED.labels, annotations = EXCLUDED.annotations,
               ends_at = EXCLUDED.ends_at, last_seen_at = EXCLUDED.last_seen_at,
               blast = CASE WHEN EXCLUDED.status = 'firing' THEN EXCLUDED.blast ELSE a.blast END
        RETURNING a.fingerprint, a.status, a.summary, a.priority
    ), changes AS (
        SELECT up.*, old.status AS old_status FROM up LEFT JOIN old USING (fingerprint)
    ), logged AS (
        INSERT INTO incident_log (incident_id, at, kind, actor, message, details)
        SELECT v_inc.id, p_now,
               CASE WHEN old_status IS NULL THEN 'alert_added'
                    WHEN status = 'firing' THEN 'alert_refired'
                    ELSE 'alert_resolved' END,
               v_actor,
               CASE WHEN old_status IS NULL THEN format('New alert (P%s): %s', priority, summary)
                    WHEN status = 'firing' THEN format('Alert firing again (P%s): %s', priority, summary)
                    ELSE format('Alert resolved: %s', summary) END,
               jsonb_build_object('fingerprint', fingerprint)
          FROM changes
         WHERE NOT v_created
           AND old_status IS DISTINCT FROM status
           AND NOT (old_status IS NULL AND status = 'resolved')
        RETURNING 1
    )
    SELECT count(*) FILTER (WHERE old_status = status),
           count(*) FILTER (WHERE status = 'firing' AND old_status IS DISTINCT FROM 'firing')
      INTO v_dups, v_new FROM changes;

    SELECT count(*) FILTER (WHERE a.status = 'firing'), min(a.priority) FILTER (WHERE a.status = 'firing'),
           count(*)
      INTO v_firing, v_min, v_count
      FROM alerts a WHERE a.incident_id = v_inc.id;

    -- issue 12, blast radius: a rule with min_firing N ranks the incident once N of its firing
    -- alerts match it. Only a request with such alerts can grow a count, so only it looks.
    IF v_has_blast THEN
        SELECT t.p, t.r, t.c INTO v_blast, v_blast_rule, v_blast_n
          FROM (SELECT m->>'r' AS r, (m->>'n')::integer AS n, (m->>'p')::smallint AS p, count(*) AS c
                  FROM alerts a, jsonb_array_elements(a.blast) AS m
                 WHERE a.incident_id = v_inc.id AND a.status = 'firing'
                 GROUP BY 1, 2, 3) AS t
         WHERE t.c >= t.n
         ORDER BY t.p, t.r LIMIT 1;
        IF v_blast IS NOT NULL AND v_blast < coalesce(v_min, 4) THEN
            v_min := v_blast;
        ELSE
            v_blast := NULL;
        END IF;
    END IF;

    v_status := v_inc.status;
    IF (NOT v_created OR v_blast IS NOT NULL) AND v_min < v_inc.priority THEN
        INSERT INTO incident_log (incident_id, at, kind, actor, message, details)
        VALUES (v_inc.id, p_now, 'priority_raised', v_actor,
                CASE WHEN v_blast IS NULL THEN format('Priority raised from P%s to P%s', v_inc.priority, v_min)
                     ELSE format('Priority raised from P%s to P%s: %s firing alerts match %s (min_firing)',
                                 v_inc.priority, v_min, v_blast_n, v_blast_rule) END,
                jsonb_build_object('from', 'P' || v_inc.priority, 'to', 'P' || v_min)
                || CASE WHEN v_blast IS NULL THEN '{}'::jsonb
                        ELSE jsonb_build_object('rule', v_blast_rule, 'firing', v_blast_n) END);
        v_inc.priority := v_min;
        v_inc.priority_rule := coalesce(CASE WHEN v_blast IS NOT NULL THEN v_blast_rule END, p_rules[v_top],
                                        v_inc.priority_rule);
        -- issue 12: the engine reassesses (stakeholders, cadence, stable_for) at the new priority
        IF NOT v_created THEN
            INSERT INTO timers (kind, subject, due_at, priority, incident_id)
            VALUES ('reassess', v_inc.id::text, p_now, v_inc.priority, v_inc.id)
            ON CONFLICT (kind, subject) DO UPDATE SET due_at = EXCLUDED.due_at, priority = EXCLUDED.priority;
            v_wake := true;
        END IF;
    END IF;

    IF v_firing = 0 AND 'resolve' = ANY (p_actions) AND v_inc.stable_for IS NOT NULL THEN
        -- issue 12, stability window: cleared → stabilizing, resolved by the engine at stable_until
        IF v_status <> 'stabilizing' THEN
            v_status := 'stabilizing';
            v_inc.recovered_at := p_now;
            v_inc.stable_until := p_now + v_inc.stable_for;
            INSERT INTO incident_log (incident_id, at, kind, actor, message, details)
            VALUES (v_inc.id, p_now, 'stabilizing', v_actor,
                    format('No alert is firing: stabilizing until %s UTC; an alert firing before then reopens it',
                           to_char(v_inc.stable_until AT TIME ZONE 'UTC', 'HH24:MI:SS')),
                    jsonb_build_object('stable_until', v_inc.stable_until));
            INSERT INTO timers (kind, subject, due_at, priority, incident_id)
            VALUES ('stable_window', v_inc.id::text, v_inc.stable_until, v_inc.priority, v_inc.id)
            ON CONFLICT (kind, subject) DO UPDATE SET due_at = EXCLUDED.due_at, priority = EXCLUDED.priority;
        END IF;
    ELSIF v_firing = 0 AND 'resolve' = ANY (p_actions) THEN
        v_status := 'resolved';
        INSERT INTO incident_log (incident_id, at, kind, actor, message)
        VALUES (v_inc.id, p_now, 'resolved', v_actor,
                format('Resolved by %s: no alert is firing', p_integration));
        -- issue 12: the stakeholders' all clear, queued by the engine
        IF cardinality(v_inc.stakeholders) > 0 THEN
            INSERT INTO timers (kind, subject, due_at, priority, incident_id)
            VALUES ('all_clear', v_inc.id::text, p_now, v_inc.priority, v_inc.id)
            ON CONFLICT (kind, subject) DO NOTHING;
            v_wake := true;
        END IF;
    ELSIF v_status = 'stabilizing' AND v_firing > 0 THEN
        -- issue 12: an alert fired again inside the window: triggered again, escalation from step 1
        v_status := 'triggered';
        v_relapsed := true;
        v_inc.recovered_at := NULL;
        v_inc.stable_until := NULL;
        v_wake := true;
        INSERT INTO incident_log (incident_id, at, kind, actor, message)
        VALUES (v_inc.id, p_now, 'relapsed', v_actor,
                'An alert fired again while stabilizing: triggered again, escalating from step 1');
        -- the engine starts the walk over (escalation.restart: a new round, new outbox keys)
        INSERT INTO timers (kind, subject, due_at, priority, incident_id)
        VALUES ('relapse', v_inc.id::text, p_now, v_inc.priority, v_inc.id)
        ON CONFLICT (kind, subject) DO UPDATE SET due_at = EXCLUDED.due_at, priority = EXCLUDED.priority;
    ELSIF v_status = 'triggered' AND 'acknowledge' = ANY (p_actions) THEN
        v_status := 'acknowledged';
        INSERT INTO incident_log (incident_id, at, kind, actor, message)
        VALUES (v_inc.id, p_now, 'acknowledged', v_actor, format('Acknowledged by %s', p_integration));
    END IF;

    UPDATE incidents i
       SET last_seen_at = p_now,
           alert_count = v_count,
           priority = v_inc.priority,
           priority_rule = v_inc.priority_rule,
           status = v_status,
           acknowledged_at = CASE WHEN v_status = 'acknowledged' AND i.acknowledged_at IS NULL
                                  THEN p_now ELSE i.acknowledged_at END,
           acknowledged_by = CASE WHEN v_status = 'acknowledged' AND i.acknowledged_at IS NULL
                                  THEN v_actor ELSE i.acknowledged_by END,
           resolved_at = CASE WHEN v_status = 'resolved' THEN p_now END,
           resolved_by = CASE WHEN v_status = 'resolved' THEN v_actor END,
           next_escalation_at = CASE WHEN v_status = 'triggered' AND NOT v_relapsed THEN i.next_escalation_at END,
           -- issue 12: the stability window (a relapse's walk from step 1 is the 'relapse' timer's)
           recovered_at = v_inc.recovered_at,
           stable_until = v_inc.stable_until
     WHERE i.id = v_inc.id;

    -- A NOTIFY holds a database-wide lock from this commit's start to its end, WAL flush included,
    -- so transactions that notify commit one at a time. Only the rare wake-ups above notify here;
    -- the caller announces a new incident after COMMIT, naming its lane (pager.store.db.announce,
    -- pager.lanes.named), so neither a storm's commits nor a flood of P0s queue behind each other.
    IF v_wake THEN
        PERFORM pg_notify('pager_incidents', '');  -- identical payloads: one notification per transaction
    END IF;

    IF v_status <> v_inc.status AND v_status IN ('acknowledged', 'stabilizing', 'resolved') THEN
        UPDATE notifications SET status = 'cancelled', lease_until = NULL
         WHERE notifications.incident_id = v_inc.id AND notifications.status = 'pending';
    END IF;

    -- A new symptom must never hide behind an old ack: tell whoever acknowledged.
    IF NOT v_created AND v_inc.status = 'acknowledged' AND v_status = 'acknowledged' AND v_new > 0 THEN
        SELECT max(l.id) INTO v_notice FROM incident_log l WHERE l.incident_id = v_inc.id;
    END IF;

    RETURN QUERY SELECT v_inc.id, v_created, v_status, v_dups, v_inc.priority, v_inc.created_at,
                        CASE WHEN v_status <> v_inc.status THEN v_status END, v_inc.service,
                        v_inc.acknowledged_by, v_notice;
END;
$$;

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
    )
    -- the caller announces the new incidents after COMMIT (see pager_ingest)
    SELECT array_agg(d.g_ord), array_agg(d.id), array_agg(d.priority), array_agg(d.created_at), array_agg(d.service)
      INTO v_ord, v_id, v_priority, v_created, v_service
      FROM done d;

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
