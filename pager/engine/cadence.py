"""Status updates on a cadence: posting one, and reminding whoever runs the incident when the next is overdue.

The first update is due `update_every` after the incident opens; each update moves it to
`next_update_in` (or `update_every`) later. The due instant is the incident's
`next_update_due` and a durable timer (kind `update_due`). When it passes unmet, the
commander (else whoever acknowledged, else whoever step 1 pages) is reminded on their paging
channels with a link to post one; the timer re-arms itself every `update_every` while the
update stays overdue, so the reminder repeats. Claimed FOR UPDATE SKIP LOCKED like every
timer, each reminder is sent once whatever the number of engines, and the outbox key
(incident, the instant it came due, REMINDER_STEP, user, channel) says so a second time.
"""

from __future__ import annotations

import datetime
import typing

from pager import effects, models, plan, timeline, updates, values
from pager.engine import stakeholders

if typing.TYPE_CHECKING:
    from pager.engine import handlers

KIND = "update_due"


def _timer(incident: models.Incident, due: datetime.datetime, every: datetime.timedelta | None) -> plan.SetTimer:
    data = {"every": every.total_seconds()} if every else {}
    return plan.SetTimer(KIND, str(incident.id), due, incident.priority, incident.id, data)


def arm(incident: models.Incident, ctx: handlers.Context) -> plan.Plan:
    """The first update is due `update_every` after the incident opened (once: a relapse or a raise keeps it)."""
    if incident.next_update_due is not None or not incident.status.open:
        return plan.Plan()
    every = ctx.config.priority_policy(incident.priority).update_every
    if every is None:
        return plan.Plan()
    due = incident.created_at + every  # already past (a priority raised late): overdue at once
    return plan.Plan(update_due=((incident.id, due),), set_timers=(_timer(incident, due, every),))


def post(incident: models.Incident, draft: updates.Draft, by: str, via: str, ctx: handlers.Context) -> plan.Plan:
    """A status update: stored, on the timeline, mailed to the stakeholders, and the next one due."""
    every = ctx.config.priority_policy(incident.priority).update_every
    step = draft.next_update_in or every
    due = ctx.now + step if step else None
    update = plan.Update(incident.id, by, draft.status, draft.known, draft.doing, draft.unknown, due)
    lines = [f"Status update: {draft.status}"]
    lines += [f"{updates.LABELS[k]}: {v}" for k in updates.PARTS[1:] if (v := getattr(draft, k))]
    lines.append(f"Next update by {due:%H:%M} UTC" if due else "No next update promised")
    details = {
        **{k: getattr(draft, k) for k in updates.PARTS},
        "next_update_at": due.isoformat() if due else None,
        "via": via,
    }
    line = plan.Line(incident.id, timeline.Kind.STATUS_UPDATE, "\n".join(lines), actor=by, details=details)
    if due is None:
        cadence = plan.Plan(update_due=((incident.id, None),), clear_timers=((KIND, str(incident.id)),))
    else:
        cadence = plan.Plan(update_due=((incident.id, due),), set_timers=(_timer(incident, due, every or step),))
    return plan.Plan(updates=(update,), log=(line,)) + cadence + stakeholders.on_update(incident, update, ctx)


def reminded(incident: models.Incident, ctx: handlers.Context) -> list[str]:
    """Who runs the incident: its commander, else whoever acknowledged it, else whoever step 1 pages now."""
    cfg = ctx.config
    for user_id in (incident.roles.commander, incident.acknowledged_by):
        if user_id and cfg.user(user_id) is not None:
            return [user_id]
    policy = cfg.policy(incident.escalation_policy) if incident.escalation_policy else None
    if policy is None:
        return []
    users: list[str] = []
    for target in policy.steps[0].targets:
        users += [u for u in ctx.users_at(target, ctx.now) if u not in users and cfg.user(u) is not None]
    return users


def _again(due: datetime.datetime, every: datetime.timedelta, now: datetime.datetime) -> datetime.datetime:
    """The next reminder after `due`, every `every`, past `now` (an engine that was down does not catch up)."""
    again = due + every
    if again <= now:
        again += every * ((now - again) // every + 1)
    return again


def on_due(timer: models.Timer, ctx: handlers.Context) -> plan.Plan:
    incident = timer.incident
    if incident is None or not incident.status.open or incident.next_update_due is None:
        return plan.Plan()
    every = ctx.config.priority_policy(incident.priority).update_every
    if every is None and timer.data.get("every"):
        every = datetime.timedelta(seconds=float(timer.data["every"]))  # only a promise (next_update_in) set it
    if incident.next_update_due > ctx.now:  # an update moved it; the timer follows
        return plan.Plan(set_timers=(_timer(incident, incident.next_update_due, every),))
    if incident.status is models.IncidentStatus.STABILIZING:
        # Recovered: nobody is reminded while the fix holds; a relapse is looked at when the window ends.
        later = max(incident.stable_until or ctx.now, ctx.now + datetime.timedelta(seconds=1))
        return plan.Plan(set_timers=(_timer(incident, later, every),))
    again = (_timer(incident, _again(timer.due_at, every, ctx.now), every),) if every else ()
    if incident.maintenance_id is not None:
        return plan.Plan(set_timers=again)  # a maintenance window pages nobody, reminders included
    cfg = ctx.config
    policy = cfg.priority_policy(incident.priority)
    pages: list[plan.QueuedPage] = []
    reached: list[str] = []
    unreachable: list[str] = []
    for user_id in reminded(incident, ctx):
        user = cfg.user(user_id)
        assert user is not None
        usable = list(ctx.channels_for(user_id))
        channels = [c for c in policy.channels if c in usable] or usable[:1]
        for c in channels:
            page = models.Page(incident.id, user_id, c, int(timer.due_at.timestamp()), models.REMINDER_STEP)
            pages.append(plan.QueuedPage(page, user.address(c) or ""))
        if channels:
            reached.append(f"{user.display_name} ({', '.join(channels)})")
        else:
            unreachable.append(user.display_name)
    late = ctx.now - incident.next_update_due
    ago = f", {values.format_duration(late)} ago" if late >= datetime.timedelta(minutes=1) else ""
    if reached:
        who = f"reminding {', '.join(reached)}"
    elif unreachable:
        who = f"cannot remind {', '.join(unreachable)}: no usable channel"
    else:
        who = "nobody to remind (no commander, nobody on call)"
    line = plan.Line(
        incident.id,
        timeline.Kind.UPDATE_OVERDUE,
        f"Status update overdue: due {incident.next_update_due:%H:%M} UTC{ago}; {who}",
        details={"due": incident.next_update_due.isoformat(), "reminded": [p.page.user for p in pages]},
    )
    fx: list[effects.Effect] = [effects.Count("status_updates_overdue", (incident.service, incident.priority.name))]
    if not reached:
        fx.append(effects.warning("status update overdue and nobody to remind", incident=incident.id))
    return plan.Plan(pages=tuple(pages), log=(line,), set_timers=again, effects=tuple(fx))
