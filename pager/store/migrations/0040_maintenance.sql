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

ALTER TABLE incidents ADD COLUMN maintenance_id bigint REFERENCES maintenance_windows (id);
CREATE INDEX incidents_maintenance ON incidents (maintenance_id) WHERE maintenance_id IS NOT NULL;
