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
