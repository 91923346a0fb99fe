-- Issue 16 (more ways out): the timeline kinds of delivery reports, SMS opt-outs and posts to
-- webhooks and Slack, and the table of numbers that replied STOP.

ALTER TABLE incident_log DROP CONSTRAINT incident_log_kind_check;
ALTER TABLE incident_log ADD CONSTRAINT incident_log_kind_check CHECK (kind IN (
    'triggered', 'alert_added', 'alert_refired', 'alert_resolved', 'priority_raised',
    'acknowledged', 'resolved', 'note', 'target_breached', 'escalated', 'repeated',
    'manual_escalation', 'target_empty', 'no_channel', 'step_skipped', 'exhausted',
    'nobody_on_call', 'not_escalating', 'no_policy', 'acknowledger_notified', 'paged', 'page_held',
    'page_retry', 'page_failed', 'page_undelivered', 'page_fallback', 'page_undeliverable',
    'postmortem_overdue', 'action_overdue', 'drill_ended',
    'page_delivered', 'sms_opted_out', 'sms_opted_in', 'posted', 'post_retry', 'post_failed'
));

-- A number that replied STOP gets no SMS until it replies START (Twilio refuses them anyway, 21610);
-- its pages fail at once and fall back to the person's other channels.
CREATE TABLE sms_opt_outs (
    phone           text PRIMARY KEY,
    keyword         text NOT NULL,
    at              timestamptz NOT NULL
);
