-- Numbers that replied STOP (SMS opt-outs).

-- name: opt_out
INSERT INTO sms_opt_outs (phone, keyword, at) VALUES ($1, $2, $3) ON CONFLICT (phone) DO NOTHING RETURNING phone;

-- name: opt_in
DELETE FROM sms_opt_outs WHERE phone = $1 RETURNING phone;

-- name: list_opt_outs
SELECT phone, keyword, at FROM sms_opt_outs ORDER BY at, phone;

-- name: open_incidents_paged_at
-- The open incidents whose pages went to this address by SMS, and to whom: their timelines record an opt-out.
SELECT DISTINCT n.incident_id, n.user_id
  FROM notifications n JOIN incidents i ON i.id = n.incident_id
 WHERE n.channel = 'sms' AND n.address = $1 AND i.status <> 'resolved'
 ORDER BY n.incident_id, n.user_id;
