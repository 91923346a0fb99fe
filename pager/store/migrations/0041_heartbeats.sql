-- Heartbeats (config `heartbeats:`): when each last beat, and the incident its silence opened.
-- The deadline is a durable timer (kind heartbeat, subject the heartbeat's id).

CREATE TABLE heartbeats (
    id              text PRIMARY KEY,
    registered_at   timestamptz NOT NULL,  -- when a daemon first saw it configured
    last_beat_at    timestamptz,
    missed_at       timestamptz,  -- when its deadline passed without a beat; NULL once it beats again
    incident_id     bigint REFERENCES incidents (id) ON DELETE SET NULL
);
