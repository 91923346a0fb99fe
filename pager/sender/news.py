"""Which targets hear of an event, and what each post's answer writes. Pure: (events or answers, config, now).

Webhooks hear the kinds they list (`events:`), for the services they list (or
all). The service's Slack channel hears every kind the outbound trigger queues:
each edits the incident's one message. A failed post is retried with backoff for
a day, then given up loudly; the first retry and the outcome are on the timeline.
"""

from __future__ import annotations

import datetime
import typing

from pager import config, effects, plan, timeline
from pager.notify import message
from pager.store import deliveries

GIVE_UP_AFTER = datetime.timedelta(days=1)


def retry_delay(attempts: int) -> datetime.timedelta:
    return datetime.timedelta(seconds=min(5 * 2 ** max(attempts - 1, 0), 600))


SLACK_KINDS = ("triggered", "acknowledged", "resolved", "priority_raised", "status_update", "stabilizing",
               "relapsed", "ack_expired", "role_changed")  # fmt: skip
"""Every change the incident's Slack message shows (the timeline trigger's list)."""


def followed(settings: config.Settings) -> set[str]:
    """The timeline kinds this configuration's webhooks and Slack channels need queued."""
    kinds = {kind for hook, _, _ in settings.webhooks() for kind in hook.events}
    if settings.enabled("slack") and any(s.slack_channel for s in settings.config.services):
        kinds.update(SLACK_KINDS)
    return kinds


def targets(events: typing.Sequence[deliveries.Event], settings: config.Settings) -> list[deliveries.Target]:
    cfg = settings.config
    slack = settings.enabled("slack")
    out: list[deliveries.Target] = []
    for e in events:
        for hook, _, _ in settings.webhooks():
            if e.kind in hook.events and (not hook.services or e.service in hook.services):
                out.append(deliveries.Target(e, f"webhook:{hook.id}"))
        service = cfg.service(e.service)
        if slack and service is not None and service.slack_channel:
            out.append(deliveries.Target(e, "slack"))
    return out


def channel(target: str) -> str:
    """The `channel` label of pager_notifications_total: webhook or slack."""
    return target.partition(":")[0]


def _where(d: deliveries.Claimed, slack_channel: str | None) -> str:
    if d.target == "slack":
        return f"Slack {slack_channel or ''}".rstrip()
    return f"webhook {d.target.partition(':')[2]}"


def settle(
    results: typing.Sequence[tuple[deliveries.Claimed, message.Outcome]],
    slack_channel: typing.Callable[[deliveries.Claimed], str | None],
    done: datetime.datetime,
) -> tuple[deliveries.Outcomes, list[effects.Effect]]:
    sent: list[int] = []
    retry: list[tuple[int, str, datetime.datetime]] = []
    failed: list[tuple[int, str]] = []
    posted: list[tuple[int, str, str]] = []
    lines: list[plan.Line] = []
    fx: list[effects.Effect] = []
    for d, outcome in results:
        inc, where, label = d.incident.id, _where(d, slack_channel(d)), channel(d.target)
        after = f" after {d.attempts} attempts" if d.attempts > 1 else ""
        if outcome.ok:
            sent.append(d.id)
            fx.append(effects.Count("notifications", (label, "sent")))
            fx.append(effects.Observe("notification_delay", max((done - d.queued_at).total_seconds(), 0), (label,)))
            if d.target == "slack":
                channel_id, _, ts = (outcome.provider_id or "").partition(":")
                new = d.slack is None or d.slack != (channel_id, ts)
                if new and ts:
                    posted.append((inc, channel_id, ts))
                    lines.append(plan.Line(inc, timeline.Kind.POSTED, f"Posted to {where}{after}"))
                elif d.event == "status_update":
                    lines.append(plan.Line(inc, timeline.Kind.POSTED, f"Status update threaded in {where}{after}"))
                elif after:
                    lines.append(plan.Line(inc, timeline.Kind.POSTED, f"Updated the message in {where}{after}"))
            else:
                lines.append(plan.Line(inc, timeline.Kind.POSTED, f"Posted {d.event} to {where}{after}"))
            continue
        too_old = done - d.queued_at >= GIVE_UP_AFTER
        if not outcome.permanent and not too_old:
            delay = retry_delay(d.attempts)
            retry.append((d.id, outcome.error, done + delay))
            fx.append(effects.Count("notifications", (label, "retry")))
            fx.append(effects.warning("post failed; will retry", target=d.target, incident=inc, error=outcome.error))
            if d.attempts == 1:
                lines.append(
                    plan.Line(
                        inc,
                        timeline.Kind.POST_RETRY,
                        f"Posting {d.event} to {where} failed ({outcome.error}); retrying with backoff for up to "
                        f"{int(GIVE_UP_AFTER.total_seconds() // 3600)} h",
                    )
                )
            continue
        why = outcome.error + (f"; gave up after {d.attempts} attempts" if too_old else "")
        failed.append((d.id, why))
        fx.append(effects.Count("notifications", (label, "failed")))
        fx.append(effects.error("post failed for good", target=d.target, incident=inc, error=why))
        lines.append(plan.Line(inc, timeline.Kind.POST_FAILED, f"Posting {d.event} to {where} failed: {why}"))
    return deliveries.Outcomes(tuple(sent), tuple(retry), tuple(failed), tuple(posted), tuple(lines)), fx
