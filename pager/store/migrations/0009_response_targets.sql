-- Response targets: the deadlines fixed when the engine first sees an incident (its priority's
-- ack_within and resolve_within), shown with the incident; breaches are timeline entries.

ALTER TABLE incidents ADD COLUMN ack_by timestamptz, ADD COLUMN resolve_by timestamptz;
