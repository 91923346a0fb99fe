-- Timeline kinds of issue 14: maintenance (a window holds, moves or releases an incident) and
-- ack_expired (an acknowledgement left unresolved past priorities.*.ack_expires). The full list,
-- as pager/timeline.py has it.

ALTER TABLE incident_log DROP CONSTRAINT incident_log_kind_check;
ALTER TABLE incident_log ADD CONSTRAINT incident_log_kind_check CHECK (kind IN (
    'triggered', 'alert_added', 'alert_refired', 'alert_resolved', 'priority_raised',
    'acknowledged', 'resolved', 'note', 'target_breached', 'maintenance', 'ack_expired',
    'escalated', 'repeated',
    'manual_escalation', 'target_empty', 'no_channel', 'step_skipped', 'exhausted',
    'nobody_on_call', 'not_escalating', 'no_policy', 'acknowledger_notified', 'paged', 'page_held',
    'page_retry', 'page_failed', 'page_undelivered', 'page_fallback', 'page_undeliverable'
));
