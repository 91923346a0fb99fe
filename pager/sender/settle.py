"""What a provider's answer means for each page: sent, retried later, or failed for good and fallen back.

Pure: the sender hands over each bundle with the `message.Outcome` its channel
answered, and gets back what to write (`outbox.Outcomes`), which pages failed
for good, the timeline lines, and the metrics and logs to emit after COMMIT.
"""

from __future__ import annotations

import datetime
import typing

from pager import effects, plan, timeline
from pager.notify import message
from pager.sender import bundle as bundle_mod
from pager.store import outbox

MAX_ATTEMPTS = 8


def retry_delay(attempts: int) -> datetime.timedelta:
    return datetime.timedelta(seconds=min(5 * 2 ** max(attempts - 1, 0), 300))


Names = typing.Callable[[str], str]
"""user id → the name a timeline line calls them"""


def outcomes(
    results: typing.Sequence[tuple[bundle_mod.Bundle, message.Outcome]], name: Names, done: datetime.datetime
) -> tuple[outbox.Outcomes, list[outbox.Delivery], list[effects.Effect]]:
    sent: list[tuple[int, str | None]] = []
    retry: list[tuple[int, str, datetime.datetime]] = []
    failed: list[tuple[int, str]] = []
    lost: list[outbox.Delivery] = []
    lines: list[plan.Line] = []
    out: list[effects.Effect] = []
    for b, outcome in results:
        who, incidents, n = name(b.user_id), b.incidents, len(b.rows)
        if outcome.ok:
            sent += [(r.id, outcome.provider_id) for r in b.rows]
            out.append(effects.Count("notifications", (b.channel, "sent"), n))
            out += [
                effects.Observe("notification_delay", max((done - r.created_at).total_seconds(), 0), (b.channel,))
                for r in b.rows
            ]
            bundled = f" (bundled with #{', #'.join(map(str, incidents[1:]))})" if len(incidents) > 1 else ""
            what = "Reminded" if b.reminder else "Paged"  # a status-update reminder, or a page
            lines += [plan.Line(i, timeline.Kind.PAGED, f"{what} {who} by {b.channel}{bundled}") for i in incidents]
            continue
        attempts = max(r.attempts for r in b.rows)
        if not outcome.permanent and attempts < MAX_ATTEMPTS:
            delay = retry_delay(attempts)
            retry += [(r.id, outcome.error, done + delay) for r in b.rows]
            out.append(effects.Count("notifications", (b.channel, "retry"), n))
            out.append(
                effects.warning(
                    "page failed; will retry",
                    channel=b.channel,
                    user=b.user_id,
                    error=outcome.error,
                    attempts=attempts,
                    retry_in=delay.total_seconds(),
                )
            )
            lines += [
                plan.Line(
                    i,
                    timeline.Kind.PAGE_RETRY,
                    f"Page to {who} by {b.channel} failed ({outcome.error}); retrying in {int(delay.total_seconds())}s",
                )
                for i in incidents
            ]
            continue
        failed += [(r.id, outcome.error) for r in b.rows]
        lost += [
            outbox.Delivery(r.id, r.incident_id, r.user_id, r.channel, "failed", "failed", outcome.error)
            for r in b.rows
        ]
        out.append(effects.Count("notifications", (b.channel, "failed"), n))
        lines += [
            plan.Line(i, timeline.Kind.PAGE_FAILED, f"Page to {who} by {b.channel} failed: {outcome.error}")
            for i in incidents
        ]
    return outbox.Outcomes(tuple(sent), tuple(retry), tuple(failed), tuple(lines)), lost, out


def settled(
    reports: typing.Sequence[outbox.Delivery], fallback: outbox.Fallback, name: Names
) -> tuple[list[plan.Line], list[effects.Effect]]:
    """Delivery reports (delivered, or not) and the fallback queued for every page that failed."""
    lines: list[plan.Line] = []
    out: list[effects.Effect] = []
    for r in reports:
        out.append(
            effects.Count("notifications", (r.channel, "delivered" if r.status == "delivered" else "undelivered"))
        )
        if r.status == "delivered":
            lines.append(
                plan.Line(
                    r.incident_id, timeline.Kind.PAGE_DELIVERED, f"{r.channel} to {name(r.user_id)} was delivered"
                )
            )
        else:
            lines.append(
                plan.Line(
                    r.incident_id,
                    timeline.Kind.PAGE_UNDELIVERED,
                    f"{r.channel} to {name(r.user_id)} was not delivered ({r.error or r.report})",
                )
            )
    for p in fallback.pages:
        queued = fallback.queued.get(p.id)
        if queued:
            out.append(effects.Count("notifications", (p.channel, "fallback")))
            lines.append(
                plan.Line(
                    p.incident_id,
                    timeline.Kind.PAGE_FALLBACK,
                    f"Falling back to {', '.join(queued)} for {name(p.user_id)}",
                )
            )
        elif p.id not in fallback.reachable:
            out.append(
                effects.error(
                    "page could not be delivered on any channel",
                    incident=p.incident_id,
                    user=p.user_id,
                    channel=p.channel,
                )
            )
            why = "every channel failed" if p.id in fallback.offered else "no other channel to fall back to"
            lines.append(
                plan.Line(
                    p.incident_id, timeline.Kind.PAGE_UNDELIVERABLE, f"{name(p.user_id)} could not be reached: {why}"
                )
            )
    return lines, out
