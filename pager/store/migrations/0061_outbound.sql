-- Issue 16: news of incidents for webhooks and Slack, never pages. A trigger on the timeline queues
-- an event for every entry of a kind they follow, in the transaction that wrote it, whichever path
-- wrote it (ingest, the API, an SMS reply, a timer): nothing is lost and nothing is sent for work
-- that rolled back. The sender's outbound lane turns each event into one delivery per target
-- (a webhook, the service's Slack channel) and sends those in order per incident and target.

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

-- The kinds webhooks and Slack follow; kinds other branches add later are listed already.
CREATE TRIGGER incident_log_outbound AFTER INSERT ON incident_log
    FOR EACH ROW WHEN (NEW.kind IN ('triggered', 'acknowledged', 'resolved', 'priority_raised', 'status_update',
                                     'stabilizing', 'relapsed', 'ack_expired', 'role_changed'))
    EXECUTE FUNCTION pager_outbound_event();

-- One message about one event to one target ('webhook:<id>' or 'slack'), delivered at least once:
-- leased before it is sent, retried with backoff, kept in order per (incident, target).
CREATE TABLE deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id     bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    log_id          bigint NOT NULL,
    event           text NOT NULL,
    target          text NOT NULL,
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

-- The one Slack message of an incident: where it was posted, so every change edits it (chat.update)
-- and status updates thread under it.
CREATE TABLE slack_messages (
    incident_id     bigint PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
    channel         text NOT NULL,
    ts              text NOT NULL,
    posted_at       timestamptz NOT NULL
);
