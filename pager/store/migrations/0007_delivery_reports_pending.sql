-- A provider can report on a message before the sender has recorded its id (Twilio calls back within
-- milliseconds for an unreachable number). Such a report waits here until mark_sent stores the id, and
-- is applied then; one that no send claims is pruned after a day.

CREATE TABLE delivery_reports_pending (
    provider_id     text PRIMARY KEY,
    status          text NOT NULL,
    error           text,
    received_at     timestamptz NOT NULL
);
CREATE INDEX delivery_reports_pending_received ON delivery_reports_pending (received_at);
