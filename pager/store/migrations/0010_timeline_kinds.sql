-- One list of timeline kinds: pager/timeline.py names them, and this constraint holds the table to
-- the same list (tests/db/test_store_schema.py compares the two). A new kind is added there and by a
-- migration that replaces this constraint with the longer list.

ALTER TABLE incident_log ADD CONSTRAINT incident_log_kind_check CHECK (kind IN (
    'triggered', 'alert_added', 'alert_refired', 'alert_resolved', 'priority_raised',
    'acknowledged', 'resolved', 'note', 'target_breached', 'escalated', 'repeated',
    'manual_escalation', 'target_empty', 'no_channel', 'step_skipped', 'exhausted',
    'nobody_on_call', 'not_escalating', 'no_policy', 'acknowledger_notified', 'paged', 'page_held',
    'page_retry', 'page_failed', 'page_undelivered', 'page_fallback', 'page_undeliverable'
));
