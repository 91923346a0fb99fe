-- Timeline kinds added on two branches at once (0044: maintenance, ack_expired; 0053: post-mortems,
-- action items, drills): the constraint holds them all, as pager/timeline.py does.

ALTER TABLE incident_log DROP CONSTRAINT incident_log_kind_check;
ALTER TABLE incident_log ADD CONSTRAINT incident_log_kind_check CHECK (kind IN (
    'triggered', 'alert_added', 'alert_refired', 'alert_resolved', 'priority_raised',
    'acknowledged', 'resolved', 'note', 'target_breached', 'maintenance', 'ack_expired',
    'escalated', 'repeated', 'manual_escalation', 'target_empty', 'no_channel', 'step_skipped',
    'exhausted', 'nobody_on_call', 'not_escalating', 'no_policy', 'acknowledger_notified', 'paged',
    'page_held', 'page_retry', 'page_failed', 'page_undelivered', 'page_fallback',
    'page_undeliverable', 'postmortem_overdue', 'action_overdue', 'drill_ended'
));
