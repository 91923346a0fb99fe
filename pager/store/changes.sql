-- Change events (store/changes.py): kept per service, shown on incidents that open soon after.

-- name: add_change
INSERT INTO changes (service, integration, summary, source, at, received_at, custom_details, links, images)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING *;

-- name: list_changes
-- Newest first; $3 is the cursor (the last id of the page before).
SELECT * FROM changes
 WHERE ($1::text IS NULL OR service = $1)
   AND ($3::bigint IS NULL OR id < $3)
 ORDER BY id DESC
 LIMIT $2;

-- name: recent_changes
-- For each incident (id, service, opened at): its service's changes in the window before it opened.
SELECT u.incident_id, c.*
  FROM unnest($1::bigint[], $2::text[], $3::timestamptz[]) AS u(incident_id, service, opened_at)
  JOIN LATERAL (
      SELECT * FROM changes c
       WHERE c.service = u.service AND c.at <= u.opened_at AND c.at >= u.opened_at - $4::interval
       ORDER BY c.at DESC, c.id DESC
       LIMIT $5
  ) c ON true
 ORDER BY u.incident_id, c.at DESC, c.id DESC;

-- name: incident_changes
-- A post-mortem's changes: its service's changes from $3 before the incident opened ($2) until it
-- resolved ($4; NULL: still open), oldest first, at most $5.
SELECT * FROM changes
 WHERE service = $1 AND at >= $2::timestamptz - $3::interval AND ($4::timestamptz IS NULL OR at <= $4)
 ORDER BY at, id
 LIMIT $5;
