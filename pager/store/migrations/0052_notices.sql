-- Notices: mail that is not a page: reminders (an overdue post-mortem, an overdue action item) and the
-- report digest. Queued in the transaction that decided it, sent after COMMIT by the mailer with a
-- lease (FOR UPDATE SKIP LOCKED), retried with backoff; never throttled with pages, never by SMS.
-- A digest is rendered when it is sent (subject and body NULL, `data` says which report).

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
