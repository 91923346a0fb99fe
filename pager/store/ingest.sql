-- Ingest: the webhook's groups into incidents (the functions are in schema.sql).

-- name: ingest
SELECT * FROM pager_ingest($1, $2, $3, $4, $5, $6);

-- name: ingest_many
-- Groups from concurrent requests in one statement and so one commit; `ord` is each group's place in $1.
SELECT * FROM pager_ingest_many($1::jsonb);
