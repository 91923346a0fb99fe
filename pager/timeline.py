"""Every kind of timeline entry, in one place: the store writes them, the API returns them, the docs list them.

An incident's timeline is its record: every state change, page, escalation and
note, with who did it and when. Each entry has one of these kinds. The SQL that
writes entries (`pager_ingest`, the transition query) writes these same words;
tests/unit/test_timeline.py checks the SQL and the README against this list.
"""

from __future__ import annotations

import enum


class Kind(enum.StrEnum):
    """A timeline entry's kind. The docstring of each member is what the README says of it."""

    def __new__(cls, value: str, doc: str) -> Kind:
        member = str.__new__(cls, value)
        member._value_ = value
        member.doc = doc  # type: ignore[attr-defined]
        return member

    doc: str

    # The incident itself
    TRIGGERED = "triggered", "the incident opened (by an integration, or by hand)"
    ALERT_ADDED = "alert_added", "a new alert joined the incident"
    ALERT_REFIRED = "alert_refired", "a resolved alert of the incident fired again"
    ALERT_RESOLVED = "alert_resolved", "one alert of the incident resolved"
    PRIORITY_RAISED = "priority_raised", "a more severe alert raised the incident's priority"
    ACKNOWLEDGED = "acknowledged", "someone (or an integration) acknowledged it"
    RESOLVED = "resolved", "it resolved: by a person, or because no alert is firing"
    NOTE = "note", "a note someone added"
    TARGET_BREACHED = "target_breached", "the response target (ack_within, resolve_within) passed unmet"
    MAINTENANCE = "maintenance", "a maintenance window holds the incident (nobody is paged), or has let it go"
    ACK_EXPIRED = "ack_expired", "acknowledged but unresolved past ack_expires: triggered again, escalating from step 1"
    STABILIZING = "stabilizing", "every alert cleared; it resolves by itself after stable_for unless one fires again"
    RELAPSED = "relapsed", "an alert fired again while stabilizing: triggered again, escalation from step 1"

    # Running the incident
    ROLE_CHANGED = (
        "role_changed",
        "someone took or was given a role (commander, comms, tech lead, scribe), or it was cleared",
    )
    STATUS_UPDATE = "status_update", "a status update: status, what is known, being done, not known yet, next update"
    UPDATE_OVERDUE = "update_overdue", "the next status update is overdue; the commander was reminded"
    STAKEHOLDERS_NOTIFIED = (
        "stakeholders_notified",
        "stakeholders were told by email (declared, an update, the all clear)",
    )

    # Escalation
    ESCALATED = "escalated", "a step of the escalation policy was paged"
    REPEATED = "repeated", "the walk went past the last step and started another round"
    MANUAL_ESCALATION = "manual_escalation", "someone asked for the next step before its timer"
    TARGET_EMPTY = "target_empty", "one target of a step had nobody on call; the others were paged"
    NO_CHANNEL = "no_channel", "a user on call has no usable channel for this priority"
    STEP_SKIPPED = "step_skipped", "a step reached nobody, so the next was paged at once"
    EXHAUSTED = "exhausted", "past the last step of the last round; nobody acknowledged"
    NOBODY_ON_CALL = "nobody_on_call", "no step of the policy reached anyone; escalation stopped"
    NOT_ESCALATING = "not_escalating", "this priority does not escalate; the timer is off"
    NO_POLICY = "no_policy", "the service's escalation policy is not configured; nobody is paged"
    ACKNOWLEDGER_NOTIFIED = (
        "acknowledger_notified",
        "a new alert joined an acknowledged incident; whoever acknowledged was told",
    )

    # Pages (the outbox)
    PAGED = "paged", "a page was handed to its channel's provider"
    PAGE_HELD = "page_held", "a page was held by the per-contact limit; it goes out bundled later"
    PAGE_RETRY = "page_retry", "a page failed for now; it is retried"
    PAGE_FAILED = "page_failed", "a page failed for good on one channel"
    PAGE_UNDELIVERED = "page_undelivered", "the provider reported a sent page undelivered"
    PAGE_FALLBACK = "page_fallback", "a failed page went out on the person's other channels"
    PAGE_UNDELIVERABLE = "page_undeliverable", "every channel failed: the person could not be reached"
    PAGE_DELIVERED = "page_delivered", "the provider reported a page delivered (an SMS received, a call answered)"
    SMS_OPTED_OUT = (
        "sms_opted_out",
        "the person's number replied STOP: no SMS until START; pages use their other channels",
    )
    SMS_OPTED_IN = "sms_opted_in", "the person's number replied START: SMS pages resume"

    # News of the incident (webhooks, Slack): never pages
    POSTED = "posted", "the incident's news went to a webhook or its Slack channel"
    POST_RETRY = "post_retry", "a post to a webhook or Slack failed for now; it is retried"
    POST_FAILED = "post_failed", "a post to a webhook or Slack failed for good"

    # Learning from incidents
    POSTMORTEM_OVERDUE = (
        "postmortem_overdue",
        "the post-mortem is past its due date; the commander was reminded by email",
    )
    ACTION_OVERDUE = "action_overdue", "an action item is past its due date; its owner was reminded by email"
    DRILL_ENDED = "drill_ended", "a drill finished: acknowledged or not, and how long it took"
