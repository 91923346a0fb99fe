-- pager's schema as the migrations leave it, in one place to read (tests/db/test_store_schema.py
-- checks that migrations/ builds exactly this). Change the schema by adding a migration, then
-- bring this file in line with it.
--
-- Incidents, the alerts folded into them, every accepted event, the timeline, and the outbox of pages.

-- Maintenance windows: planned quiet for some services (or for alerts matching some matchers).
-- While one is active, matching incidents still open and update, but nobody is paged; the
-- incident's maintenance_id names the window holding it. Starting and ending are durable timers
-- (kinds maintenance_start and maintenance_end, pager/engine/maintenance.py).

CREATE TABLE maintenance_windows (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    services        text[] NOT NULL DEFAULT '{}',
    matchers        text[] NOT NULL DEFAULT '{}',  -- Alertmanager syntax, matched by pager/matchers.py
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL,
    reason          text NOT NULL,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL,
    ended_by        text,  -- who ended it before its time, if anyone
    CONSTRAINT maintenance_windows_span CHECK (ends_at >= starts_at),
    CONSTRAINT maintenance_windows_scope CHECK (cardinality(services) > 0 OR cardinality(matchers) > 0)
);
CREATE INDEX maintenance_windows_ends_at ON maintenance_windows (ends_at);

CREATE TABLE incidents (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service             text NOT NULL,
    dedup_key           text NOT NULL,
    integration         text,
    status              text NOT NULL DEFAULT 'triggered'
                        CHECK (status IN ('triggered', 'acknowledged', 'stabilizing', 'resolved')),
    priority            smallint NOT NULL CHECK (priority BETWEEN 0 AND 3),
    priority_rule       text NOT NULL DEFAULT '',
    summary             text NOT NULL,
    labels              jsonb NOT NULL DEFAULT '{}',
    annotations         jsonb NOT NULL DEFAULT '{}',
    alert_count         integer NOT NULL DEFAULT 0,
    escalation_policy   text,
    escalation_step     integer NOT NULL DEFAULT -1,
    escalation_round    integer NOT NULL DEFAULT 0,
    next_escalation_at  timestamptz,
    created_at          timestamptz NOT NULL,
    last_seen_at        timestamptz NOT NULL,
    acknowledged_at     timestamptz,
    acknowledged_by     text,
    resolved_at         timestamptz,
    resolved_by         text,
    ack_by              timestamptz,  -- response targets, fixed when the engine first sees the incident
    resolve_by          timestamptz,
    commander           text,         -- roles: user ids
    comms               text,
    tech_lead           text,
    scribe              text,
    next_update_due     timestamptz,  -- status-update cadence (update_every, next_update_in)
    recovered_at        timestamptz,  -- the stability window: the last firing alert cleared then,
    stable_until        timestamptz,  -- and it resolves then unless an alert fires again
    stable_for          interval,     -- its priority's stable_for, set by the engine, read by pager_ingest
    stakeholders        text[] NOT NULL DEFAULT '{}',  -- stakeholder groups told of it
    maintenance_id      bigint REFERENCES maintenance_windows (id),  -- the maintenance window holding it (no pages)
    escalation_first_round integer NOT NULL DEFAULT 0,  -- the round its walk last started over in (repeats count from it)
    drill               boolean NOT NULL DEFAULT false  -- a drill: pages say [DRILL]; out of MTTA/MTTR and targets
);

-- One open incident per (service, dedup key), enforced here so concurrent
-- duplicates cannot open two, whatever the number of replicas.
CREATE UNIQUE INDEX incidents_open_dedup ON incidents (service, dedup_key) WHERE status <> 'resolved';
CREATE INDEX incidents_open_by_integration ON incidents (integration, dedup_key) WHERE status <> 'resolved';
-- Exactly what the engine claims: triggered incidents with a timer, walked in order, one index per
-- lane (P0/P1, P2/P3), so neither lane reads the other's rows.
CREATE INDEX incidents_due_urgent ON incidents (next_escalation_at)
    WHERE next_escalation_at IS NOT NULL AND status = 'triggered' AND priority <= 1;
CREATE INDEX incidents_due_lower ON incidents (next_escalation_at)
    WHERE next_escalation_at IS NOT NULL AND status = 'triggered' AND priority >= 2;
CREATE INDEX incidents_status ON incidents (status, id DESC);
CREATE INDEX incidents_acknowledged_at ON incidents (acknowledged_at) WHERE acknowledged_at IS NOT NULL;
CREATE INDEX incidents_resolved_at ON incidents (resolved_at) WHERE resolved_at IS NOT NULL;
-- Reports window incidents by when they opened.
CREATE INDEX incidents_created_at ON incidents (created_at);
CREATE INDEX incidents_maintenance ON incidents (maintenance_id) WHERE maintenance_id IS NOT NULL;

CREATE TABLE alerts (
    incident_id     bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    fingerprint     text NOT NULL,
    status          text NOT NULL CHECK (status IN ('firing', 'resolved')),
    priority        smallint NOT NULL,
    summary         text NOT NULL,
    labels          jsonb NOT NULL DEFAULT '{}',
    annotations     jsonb NOT NULL DEFAULT '{}',
    starts_at       timestamptz,
    ends_at         timestamptz,
    first_seen_at   timestamptz NOT NULL,
    last_seen_at    timestamptz NOT NULL,
    blast           jsonb NOT NULL DEFAULT '[]',  -- blast-radius rules it matched: [{"r", "n", "p"}]
    PRIMARY KEY (incident_id, fingerprint)
);

-- Every accepted event as received: one row per webhook group (or Events v2 request), its events
-- in the order they came, in the shape pager_ingest takes them (see p_alerts below).
CREATE TABLE alert_events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id     bigint REFERENCES incidents (id) ON DELETE CASCADE,
    integration     text,
    received_at     timestamptz NOT NULL,
    dedup_key       text NOT NULL,
    events          jsonb NOT NULL
);
CREATE INDEX alert_events_incident ON alert_events (incident_id, id);

CREATE TABLE incident_log (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id     bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at              timestamptz NOT NULL,
    kind            text NOT NULL CONSTRAINT incident_log_kind_check CHECK (kind IN (
    'triggered', 'alert_added', 'alert_refired', 'alert_resolved', 'priority_raised',
    'acknowledged', 'resolved', 'note', 'target_breached', 'maintenance', 'ack_expired',
    'escalated', 'repeated', 'manual_escalation', 'target_empty', 'no_channel', 'step_skipped',
    'exhausted', 'nobody_on_call', 'not_escalating', 'no_policy', 'acknowledger_notified', 'paged',
    'page_held', 'page_retry', 'page_failed', 'page_undelivered', 'page_fallback',
    'page_undeliverable', 'postmortem_overdue', 'action_overdue', 'drill_ended', 'page_delivered',
    'sms_opted_out', 'sms_opted_in', 'posted', 'post_retry', 'post_failed', 'stabilizing',
    'relapsed', 'role_changed', 'status_update', 'update_overdue', 'stakeholders_notified'
    )),  -- the kinds of pager/timeline.py
    actor           text,
    message         text NOT NULL,
    details         jsonb
);
CREATE INDEX incident_log_incident ON incident_log (incident_id, id);
-- The incidents whose post-mortem went overdue (pager_postmortems_overdue).
CREATE INDEX incident_log_postmortem_overdue ON incident_log (incident_id) WHERE kind = 'postmortem_overdue';

-- The outbox: one row per page to one user on one channel. The unique key
-- means a page is queued once, however many engines race for the step.

CREATE TABLE notifications (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id     bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    round           bigint NOT NULL,  -- escalation round; for a notice to whoever acknowledged, its timeline id
    step            integer NOT NULL,
    user_id         text NOT NULL,
    channel         text NOT NULL,
    address         text NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sending', 'sent', 'delivered', 'failed', 'cancelled')),
    created_at      timestamptz NOT NULL,
    not_before      timestamptz NOT NULL,
    lease_until     timestamptz,
    attempts        integer NOT NULL DEFAULT 0,
    provider_id     text,
    error           text,
    sent_at         timestamptz,
    delivered_at    timestamptz,
    priority        smallint NOT NULL CONSTRAINT notifications_priority_check CHECK (priority BETWEEN 0 AND 3),
    UNIQUE (incident_id, round, step, user_id, channel)
);
CREATE INDEX notifications_ready ON notifications (not_before) WHERE status IN ('pending', 'sending');
-- The sender's P0/P1 lane claims only these.
CREATE INDEX notifications_ready_urgent ON notifications (not_before)
    WHERE status IN ('pending', 'sending') AND priority <= 1;
CREATE INDEX notifications_incident ON notifications (incident_id);
CREATE INDEX notifications_provider ON notifications (provider_id) WHERE provider_id IS NOT NULL;
-- The per-contact throttle counts recent sends to an address.
CREATE INDEX notifications_recent ON notifications (channel, address, sent_at) WHERE sent_at IS NOT NULL;

-- Ack links: the token in /a/{token} is stored only as its SHA-256, bound to
-- one incident and the one user it was sent to.

CREATE TABLE ack_tokens (
    token_hash      bytea PRIMARY KEY,
    incident_id     bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    user_id         text NOT NULL,
    created_at      timestamptz NOT NULL
);
CREATE INDEX ack_tokens_incident ON ack_tokens (incident_id, user_id);

-- A provider can report on a message before the sender has recorded its id. Such a report waits
-- here until the send is recorded, and is applied then; one that no send claims is pruned after a day.

CREATE TABLE delivery_reports_pending (
    provider_id     text PRIMARY KEY,
    status          text NOT NULL,
    error           text,
    received_at     timestamptz NOT NULL
);
CREATE INDEX delivery_reports_pending_received ON delivery_reports_pending (received_at);

-- Status updates in the guides' structure; the public status page shows these and nothing else.
CREATE TABLE status_updates (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id     bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at              timestamptz NOT NULL,
    by              text NOT NULL,
    status          text NOT NULL,
    known           text,
    doing           text,
    unknown         text,
    next_update_at  timestamptz
);
CREATE INDEX status_updates_incident ON status_updates (incident_id, id);

-- Stakeholder mail: its own outbox, never a page (no throttle, no SMS, no ack link, not in
-- pager_notifications_total). Composed when queued, sent (leased, retried) by the mail sender.
-- An incident is declared to, and cleared for, each stakeholder group once.
CREATE TABLE stakeholder_mail (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id     bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    stakeholder     text NOT NULL,
    event           text NOT NULL CHECK (event IN ('declared', 'update', 'all_clear')),
    recipients      text[] NOT NULL,
    subject         text NOT NULL,
    body            text NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    created_at      timestamptz NOT NULL,
    not_before      timestamptz NOT NULL,
    lease_until     timestamptz,
    attempts        integer NOT NULL DEFAULT 0,
    error           text,
    sent_at         timestamptz,
    message_id      text
);
CREATE UNIQUE INDEX stakeholder_mail_once ON stakeholder_mail (incident_id, stakeholder, event) WHERE event <> 'update';
CREATE INDEX stakeholder_mail_ready ON stakeholder_mail (not_before) WHERE status IN ('pending', 'sending');

-- Every durable timer but escalation's (the incident's own next_escalation_at, the hot path):
-- keyed by (kind, subject), claimed FOR UPDATE SKIP LOCKED when due, handled by the pure handler
-- of its kind (pager/engine/handlers.py). A timer of an incident goes with it.

CREATE TABLE timers (
    kind            text NOT NULL,
    subject         text NOT NULL,
    due_at          timestamptz NOT NULL,
    priority        smallint NOT NULL DEFAULT 3 CHECK (priority BETWEEN 0 AND 3),
    incident_id     bigint REFERENCES incidents (id) ON DELETE CASCADE,
    data            jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (kind, subject)
);
CREATE INDEX timers_due_urgent ON timers (due_at) WHERE priority <= 1;
CREATE INDEX timers_due_lower ON timers (due_at) WHERE priority >= 2;
CREATE INDEX timers_incident ON timers (incident_id) WHERE incident_id IS NOT NULL;

-- Heartbeats (config `heartbeats:`): when each last beat, and the incident its silence opened.
-- The deadline is a durable timer (kind heartbeat, subject the heartbeat's id).

CREATE TABLE heartbeats (
    id              text PRIMARY KEY,
    registered_at   timestamptz NOT NULL,  -- when a daemon first saw it configured
    last_beat_at    timestamptz,
    missed_at       timestamptz,  -- when its deadline passed without a beat; NULL once it beats again
    incident_id     bigint REFERENCES incidents (id) ON DELETE SET NULL
);

-- Change events (PagerDuty's POST /v2/change/enqueue): deploys and other changes, kept per
-- service. An incident that opens within 2 h after a change of its service shows it.

CREATE TABLE changes (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service         text NOT NULL,
    integration     text NOT NULL,
    summary         text NOT NULL,
    source          text,
    at              timestamptz NOT NULL,  -- payload.timestamp, or when it was received
    received_at     timestamptz NOT NULL,
    custom_details  jsonb NOT NULL DEFAULT '{}',
    links           jsonb NOT NULL DEFAULT '[]',
    images          jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX changes_service_at ON changes (service, at DESC, id DESC);
CREATE INDEX changes_at ON changes (at DESC, id DESC);

-- The web UI's sign-in: one-time links sent by email or SMS, and the sessions they open.
-- Both tokens are stored only as their SHA-256, so a leaked database holds no working link or cookie.

CREATE TABLE signin_links (
    token_hash      bytea PRIMARY KEY,
    user_id         text NOT NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz
);
CREATE INDEX signin_links_user ON signin_links (user_id, created_at);

CREATE TABLE ui_sessions (
    token_hash      bytea PRIMARY KEY,
    user_id         text NOT NULL,
    via             text NOT NULL CHECK (via IN ('link', 'proxy')),
    csrf_token      text NOT NULL,
    created_at      timestamptz NOT NULL,
    last_seen_at    timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL
);
CREATE INDEX ui_sessions_user ON ui_sessions (user_id);

-- Learning from incidents: an incident's edited post-mortem (GET returns the generated draft until
-- one is saved), and its action items, each with an owner and a due date (its reminder is a timer).

CREATE TABLE postmortems (
    incident_id     bigint PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
    body            text NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    updated_by      text NOT NULL
);

CREATE TABLE action_items (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id     bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    title           text NOT NULL,
    owner           text NOT NULL,
    due             date NOT NULL,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
    created_at      timestamptz NOT NULL,
    created_by      text NOT NULL,
    done_at         timestamptz,
    done_by         text
);
CREATE INDEX action_items_incident ON action_items (incident_id, id);
CREATE INDEX action_items_open ON action_items (due, id) WHERE status = 'open';

-- Notices: mail that is not a page: reminders and the report digest. Queued in the transaction that decided
-- it, sent after COMMIT by the mailer under a lease, retried with backoff; never throttled with
-- pages. A digest is rendered when it is sent (subject and body NULL; `data` says which report).

CREATE TABLE notices (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            text NOT NULL,
    incident_id     bigint REFERENCES incidents (id) ON DELETE SET NULL,
    recipients      text[] NOT NULL,
    subject         text,
    body            text,
    data            jsonb NOT NULL DEFAULT '{}',
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    not_before      timestamptz NOT NULL,
    lease_until     timestamptz,
    sent_at         timestamptz,
    error           text
);
CREATE INDEX notices_ready ON notices (not_before) WHERE status IN ('pending', 'sending');

-- A number that replied STOP gets no SMS until it replies START (Twilio refuses them anyway, 21610);
-- its pages fail at once and fall back to the person's other channels.

CREATE TABLE sms_opt_outs (
    phone           text PRIMARY KEY,
    keyword         text NOT NULL,
    at              timestamptz NOT NULL
);

-- News of incidents for webhooks and Slack, never pages. A trigger on the timeline queues an event
-- for every entry of a kind they follow, in the transaction that wrote it, whichever path wrote it;
-- the sender's outbound lane turns each event into one delivery per target (a webhook, the service's
-- Slack channel), sent at least once, with backoff, in order per (incident, target).

CREATE TABLE outbound_events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id     bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    log_id          bigint NOT NULL,
    kind            text NOT NULL,
    at              timestamptz NOT NULL
);

-- The kinds some replica's configuration follows (its webhooks' events; every kind for Slack). Each
-- replica adds its own at start and none removes any, so no replica's news is ever dropped; with no
-- webhook and no Slack channel configured the table is empty and the trigger queues nothing.
CREATE TABLE outbound_kinds (
    kind            text PRIMARY KEY
);

CREATE FUNCTION pager_outbound_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM outbound_kinds WHERE kind = NEW.kind) THEN
        RETURN NULL;
    END IF;
    INSERT INTO outbound_events (incident_id, log_id, kind, at) VALUES (NEW.incident_id, NEW.id, NEW.kind, NEW.at);
    -- An incident's opening already notifies pager_incidents (which wakes this lane too); the rest
    -- (acknowledged, resolved, updates) are rare enough to notify on their own.
    IF NEW.kind <> 'triggered' THEN
        PERFORM pg_notify('pager_outbound', '');
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER incident_log_outbound AFTER INSERT ON incident_log
    FOR EACH ROW WHEN (NEW.kind IN ('triggered', 'acknowledged', 'resolved', 'priority_raised', 'status_update',
                                     'stabilizing', 'relapsed', 'ack_expired', 'role_changed'))
    EXECUTE FUNCTION pager_outbound_event();

CREATE TABLE deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id     bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    log_id          bigint NOT NULL,
    event           text NOT NULL,
    target          text NOT NULL,  -- 'webhook:<id>' or 'slack'
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    created_at      timestamptz NOT NULL,
    not_before      timestamptz NOT NULL,
    lease_until     timestamptz,
    attempts        integer NOT NULL DEFAULT 0,
    error           text,
    sent_at         timestamptz,
    UNIQUE (log_id, target)
);
CREATE INDEX deliveries_ready ON deliveries (not_before) WHERE status IN ('pending', 'sending');
CREATE INDEX deliveries_incident ON deliveries (incident_id, target, id) WHERE status IN ('pending', 'sending');

-- The one Slack message of an incident: every change edits it (chat.update), updates thread under it.

CREATE TABLE slack_messages (
    incident_id     bigint PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
    channel         text NOT NULL,
    ts              text NOT NULL,
    posted_at       timestamptz NOT NULL
);

-- pager_ingest folds one group of alert events for one (service, dedup key) into its incident in
-- one statement: one round trip per webhook group, atomic, and safe against concurrent duplicates
-- (the partial unique index decides, the row lock serialises the rest).
--
-- Rules it keeps: a repeat changes nothing but last-seen; a new alert, a re-fired one and a
-- resolved one each get one timeline entry; priority only rises; the incident resolves when no
-- alert is firing (or, with the incident's stable_for set, stabilizes, and relapses when one fires
-- again before stable_until); acknowledge/resolve for an unknown key changes nothing; a new alert
-- joining an acknowledged incident is reported back (notify_user, notice_seq) so whoever
-- acknowledged hears; N firing alerts matching a min_firing N rule rank the incident.
--
-- p_alerts: [{"f": fingerprint, "a": action, "p": priority, "r": rule, "s": summary,
--             "l": labels, "n": annotations, "b": starts_at, "e": ends_at,
--             "m": [{"r": rule, "n": min_firing, "p": priority}] (blast-radius rules, optional)}, ...]

CREATE FUNCTION pager_ingest(
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

-- pager_ingest_many: the groups of concurrent requests in one statement (so one commit). Groups
-- that open a new incident with distinct firing alerts and no blast-radius rule (issue 12's "m")
-- (the common case, and a storm's) are written together: one INSERT each into incidents, alerts,
-- alert_events and incident_log for all of them (the caller announces them after COMMIT). Every other group (an existing
-- incident, a repeat, a resolve, a key twice in the batch, or a new incident another transaction
-- opened meanwhile) goes through pager_ingest afterwards, one by one in (service, dedup key)
-- order. New incidents are inserted in that order too, so concurrent batches take their locks in
-- one order.
--
-- p_groups: [{"t": now, "i": integration, "s": service, "k": dedup key, "p": policy, "a": p_alerts}, ...];
-- returns pager_ingest's row for each group, with `ord`, the group's place in p_groups (from 1).

CREATE FUNCTION pager_ingest_many(p_groups jsonb)
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
