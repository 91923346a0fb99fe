-- Learning from incidents: the edited post-mortem of an incident, and its action items.
-- A post-mortem's due date and an action item's reminder are durable timers (the timers table).

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
