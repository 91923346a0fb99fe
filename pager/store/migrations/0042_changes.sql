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
