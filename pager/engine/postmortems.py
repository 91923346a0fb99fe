"""The post-mortem due date as a timer kind: overdue → the commander reminded by email, on the timeline.

Armed when a P0/P1 (`postmortems.priorities`) incident opens, at the earliest the
post-mortem could be due (it resolves no sooner than it opens); when it fires
before the due date it re-arms itself for it, so one row follows the incident
whatever its resolve time. Saving the post-mortem (PUT) deletes the timer in the
same transaction. While it stays unwritten the reminder repeats every
`postmortems.remind_every`.
"""

from __future__ import annotations

import typing

from pager import effects, models, plan, postmortem, timeline

if typing.TYPE_CHECKING:
    from pager.engine import handlers

KIND = "postmortem_due"


def arm(incident: models.Incident, ctx: handlers.Context) -> plan.Plan:
    pm = ctx.config.postmortems
    if incident.drill or incident.priority not in pm.priorities:
        return plan.Plan()
    due = incident.created_at + pm.due_after
    return plan.Plan(set_timers=(plan.SetTimer(KIND, str(incident.id), due, models.Priority.P3, incident.id),))


def on_due(timer: models.Timer, ctx: handlers.Context) -> plan.Plan:
    incident = timer.incident
    cfg = ctx.config
    pm = cfg.postmortems
    if incident is None or incident.drill or incident.priority not in pm.priorities:
        return plan.Plan()

    def again(at: typing.Any, data: typing.Mapping[str, typing.Any] | None = None) -> plan.Plan:
        t = plan.SetTimer(KIND, timer.subject, at, models.Priority.P3, incident.id, data or timer.data)
        return plan.Plan(set_timers=(t,))

    due = postmortem.due_at(incident, cfg)
    if due is None or incident.status is not models.IncidentStatus.RESOLVED:
        return again(ctx.now + pm.due_after)  # still open: due no sooner than this
    if ctx.now < due:
        return again(due)
    user = postmortem.reminded(incident, cfg)
    reminders = int(timer.data.get("reminders", 0)) + 1
    stamp = due.strftime("%Y-%m-%d %H:%M UTC")
    mails: tuple[plan.Notice, ...] = ()
    if user is not None and user.email:
        subject, body = postmortem.reminder(incident, due, user.display_name, cfg.server.base_url())
        mails = (plan.Notice("postmortem_overdue", (user.email,), subject, body, incident.id, {"user": user.id}),)
        message = f"Post-mortem overdue (due {stamp}); reminded {user.display_name} by email"
    elif user is not None:
        message = f"Post-mortem overdue (due {stamp}); {user.display_name} has no email to be reminded at"
    else:
        message = f"Post-mortem overdue (due {stamp}); nobody to remind: no commander, acknowledger or resolver"
    line = plan.Line(
        incident.id,
        timeline.Kind.POSTMORTEM_OVERDUE,
        message,
        details={"due": due.isoformat(), "reminded": user.id if user else None, "reminder": reminders},
    )
    p = plan.Plan(
        log=(line,),
        notices=mails,
        effects=(effects.Log("info", "post-mortem overdue", (("incident", incident.id), ("reminder", reminders))),),
    )
    if pm.remind_every is not None:
        p += again(ctx.now + pm.remind_every, {"reminders": reminders})
    return p
