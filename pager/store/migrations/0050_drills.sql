-- Drills: a synthetic incident that walks the real chain (rotations, steps, channels), marked so
-- every page says [DRILL] and MTTA/MTTR, response targets and the open-incident gauge leave it out.
-- Reports window incidents by when they opened, hence the index on created_at.

ALTER TABLE incidents ADD COLUMN drill boolean NOT NULL DEFAULT false;
CREATE INDEX incidents_created_at ON incidents (created_at);
