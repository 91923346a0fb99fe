-- Incidents, the alerts folded into them, every accepted event, the timeline, and the outbox of pages.

CREATE TABLE incidents (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service             text NOT NULL,
    dedup_key           text NOT NULL,
    integration         text,
    status              text NOT NULL DEFAULT 'triggered'
                        CHECK (status IN ('triggered', 'acknowledged', 'resolved')),
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
    resolved_by         text
);

-- One open incident per (service, dedup key), enforced here so concurrent
-- duplicates cannot open two, whatever the number of replicas.
CREATE UNIQUE INDEX incidents_open_dedup ON incidents (service, dedup_key) WHERE status <> 'resolved';
CREATE INDEX incidents_open_by_integration ON incidents (integration, dedup_key) WHERE status <> 'resolved';
CREATE INDEX incidents_due ON incidents (next_escalation_at) WHERE next_escalation_at IS NOT NULL;
CREATE INDEX incidents_status ON incidents (status, id DESC);
CREATE INDEX incidents_acknowledged_at ON incidents (acknowledged_at) WHERE acknowledged_at IS NOT NULL;
CREATE INDEX incidents_resolved_at ON incidents (resolved_at) WHERE resolved_at IS NOT NULL;

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
    PRIMARY KEY (incident_id, fingerprint)
);

CREATE TABLE alert_events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id     bigint REFERENCES incidents (id) ON DELETE CASCADE,
    integration     text,
    received_at     timestamptz NOT NULL,
    dedup_key       text NOT NULL,
    fingerprint     text NOT NULL,
    action          text NOT NULL,
    summary         text NOT NULL,
    labels          jsonb NOT NULL DEFAULT '{}',
    annotations     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX alert_events_incident ON alert_events (incident_id, id);

CREATE TABLE incident_log (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id     bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at              timestamptz NOT NULL,
    kind            text NOT NULL,
    actor           text,
    message         text NOT NULL,
    details         jsonb
);
CREATE INDEX incident_log_incident ON incident_log (incident_id, id);

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
    UNIQUE (incident_id, round, step, user_id, channel)
);
CREATE INDEX notifications_ready ON notifications (not_before) WHERE status IN ('pending', 'sending');
CREATE INDEX notifications_incident ON notifications (incident_id);
CREATE INDEX notifications_provider ON notifications (provider_id) WHERE provider_id IS NOT NULL;
