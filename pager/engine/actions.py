"""Action items as a timer kind: an item still open after its due date reminds its owner by email.

The timer is written with the item (09:00 the day after its due date, in the
owner's zone) and deleted when the item is marked done, in the same transaction;
while it stays open the reminder repeats every `postmortems.action_remind_every`.
"""

from __future__ import annotations

import typing

from pager import actions, models, plan, timeline

if typing.TYPE_CHECKING:
    from pager.engine import handlers

KIND = "action_due"


def on_due(timer: models.Timer, ctx: handlers.Context) -> plan.Plan:
    incident = timer.incident
    data = timer.data
    if incident is None or "id" not in data:
        return plan.Plan()
    cfg = ctx.config
    owner = cfg.user(str(data.get("owner")))
    item, title, due = int(data["id"]), str(data.get("title", "")), str(data.get("due", ""))
    reminders = int(data.get("reminders", 0)) + 1
    mails: tuple[plan.Notice, ...] = ()
    if owner is not None and owner.email:
        subject, body = actions.reminder(
            item, title, due, incident.id, incident.summary, owner.display_name, cfg.server.base_url()
        )
        mails = (plan.Notice("action_overdue", (owner.email,), subject, body, incident.id, {"action": item}),)
        message = f"Action item #{item} overdue (due {due}): {title}; reminded {owner.display_name} by email"
    else:
        message = f"Action item #{item} overdue (due {due}): {title}; its owner {data.get('owner')} has no email"
    line = plan.Line(
        incident.id, timeline.Kind.ACTION_OVERDUE, message, details={"action": item, "reminder": reminders}
    )
    p = plan.Plan(log=(line,), notices=mails)
    every = cfg.postmortems.action_remind_every
    if every is not None:
        again = plan.SetTimer(
            KIND, timer.subject, ctx.now + every, timer.priority, incident.id, {**data, "reminders": reminders}
        )
        p += plan.Plan(set_timers=(again,))
    return p
