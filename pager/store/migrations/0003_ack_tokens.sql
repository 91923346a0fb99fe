-- Ack links: the token in /a/{token} is stored only as its SHA-256, bound to
-- one incident and the one user it was sent to.

CREATE TABLE ack_tokens (
    token_hash      bytea PRIMARY KEY,
    incident_id     bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    user_id         text NOT NULL,
    created_at      timestamptz NOT NULL
);
CREATE INDEX ack_tokens_incident ON ack_tokens (incident_id, user_id);
