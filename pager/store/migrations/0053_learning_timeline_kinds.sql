-- Timeline kinds of learning from incidents: a post-mortem or an action item overdue (its owner
-- reminded), and a drill's end with its outcome. The constraint holds the FULL list (pager/timeline.py).
-- The partial index finds the incidents whose post-mortem went overdue (pager_postmortems_overdue).

ALTER TABLE incident_log DROP CONSTRAINT incident_log_kind_check;
ALTER TABLE incident_log ADD CONSTRAINT incident_log_kind_check CHECK (kind IN (
    'triggered', 'alert_added', 'alert_refired', 'alert_resolved', 'priority_raised',
    'acknowledged', 'resolved', 'note', 'target_breached', 'escalated', 'repeated',
    'manual_escalation', 'target_empty', 'no_channel', 'step_skipped', 'exhausted',
    'nobody_on_call', 'not_escalating', 'no_policy', 'acknowledger_notified', 'paged', 'page_held',
    'page_retry', 'page_failed', 'page_undelivered', 'page_fallback', 'page_undeliverable',
    'postmortem_overdue', 'action_overdue', 'drill_ended'
));
CREATE INDEX incident_log_postmortem_overdue ON incident_log (incident_id) WHERE kind = 'postmortem_overdue';
