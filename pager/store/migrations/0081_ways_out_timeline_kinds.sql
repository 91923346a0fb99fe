-- Issue 16's timeline kinds (delivery reports, SMS opt-outs, posts to webhooks and Slack) beside every
-- other branch's: it merged after 0080 (maintenance, ack expiry, learning), so the FULL list is here,
-- as pager/timeline.py holds it.

ALTER TABLE incident_log DROP CONSTRAINT incident_log_kind_check;
ALTER TABLE incident_log ADD CONSTRAINT incident_log_kind_check CHECK (kind IN (
    'triggered', 'alert_added', 'alert_refired', 'alert_resolved', 'priority_raised',
    'acknowledged', 'resolved', 'note', 'target_breached', 'maintenance', 'ack_expired',
    'escalated', 'repeated', 'manual_escalation', 'target_empty', 'no_channel', 'step_skipped',
    'exhausted', 'nobody_on_call', 'not_escalating', 'no_policy', 'acknowledger_notified', 'paged',
    'page_held', 'page_retry', 'page_failed', 'page_undelivered', 'page_fallback',
    'page_undeliverable', 'postmortem_overdue', 'action_overdue', 'drill_ended',
    'page_delivered', 'sms_opted_out', 'sms_opted_in', 'posted', 'post_retry', 'post_failed'
));
