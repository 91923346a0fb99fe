-- The web UI's sign-in links and sessions (pager/store/sessions.py).

-- name: recent_signin_links
SELECT count(*) FROM signin_links WHERE user_id = $1 AND created_at > $2;

-- name: issue_signin_link
-- Also forgets this user's links that can no longer be used.
WITH pruned AS (
    DELETE FROM signin_links WHERE user_id = $2 AND (expires_at <= $3 OR used_at IS NOT NULL)
)
INSERT INTO signin_links (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4);

-- name: peek_signin_link
SELECT user_id, expires_at, used_at FROM signin_links WHERE token_hash = $1;

-- name: redeem_signin_link
-- Single use: only the first redeemer of an unexpired link gets its user back.
UPDATE signin_links SET used_at = $2
 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
RETURNING user_id;

-- name: start_session
-- Also forgets this user's sessions that have run out.
WITH pruned AS (
    DELETE FROM ui_sessions WHERE user_id = $2 AND expires_at <= $5
)
INSERT INTO ui_sessions (token_hash, user_id, via, csrf_token, created_at, last_seen_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $5, $6);

-- name: get_session
SELECT user_id, via, csrf_token, last_seen_at, expires_at FROM ui_sessions
 WHERE token_hash = $1 AND expires_at > $2;

-- name: touch_session
UPDATE ui_sessions SET last_seen_at = $2, expires_at = $3 WHERE token_hash = $1;

-- name: end_session
DELETE FROM ui_sessions WHERE token_hash = $1;

-- name: end_user_sessions
DELETE FROM ui_sessions WHERE user_id = $1;
