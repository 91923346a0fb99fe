-- Queries behind ack links and SMS replies.

-- name: issue_ack_token
INSERT INTO ack_tokens (token_hash, incident_id, user_id, created_at) VALUES ($1, $2, $3, $4);

-- name: lookup_ack_token
SELECT t.user_id, i.*
  FROM ack_tokens t JOIN incidents i ON i.id = t.incident_id
 WHERE t.token_hash = $1;

-- name: was_paged
SELECT EXISTS (SELECT 1 FROM notifications WHERE incident_id = $1 AND user_id = $2);

-- name: paged_users
SELECT DISTINCT user_id FROM notifications WHERE incident_id = $1 AND status <> 'cancelled' ORDER BY user_id;
