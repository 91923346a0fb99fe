-- Who wrote through the API, on the incident's timeline.

-- name: audit_api_write
-- $1 incident, $2 now, $3 the token's name, $4 message, $5 details; nothing when the incident is gone.
INSERT INTO incident_log (incident_id, at, kind, actor, message, details)
SELECT id, $2, 'api_write', $3, $4, $5 FROM incidents WHERE id = $1
RETURNING id;
