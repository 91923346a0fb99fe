"""Maintenance windows: planned quiet. Matching incidents still open and update, but nobody is paged.

A window holds an incident when it is active and the incident's service is one of its
`services`, or its labels match all of its `matchers`. Holding shows on the incident
(`maintenance`: the window's id) and its timeline (`maintenance`); a held incident's escalation
stops and its queued pages are withdrawn at once. When the window ends, an incident still
triggered starts its escalation over from step 1; one another active window matches moves to it.
A window never holds a drill (it walks the chain because someone asked it to); a scheduled drill
whose service a window covers waits for the window's end (`drills.on_schedule`).

Starting and ending are durable timers (kinds below, subject the window's id, no incident),
claimed with the incidents they concern; everything here is pure.
"""

from __future__ import annotations

import datetime
import typing

from pager import escalation, matchers, models, plan, timeline
from pager.engine import restart

if typing.TYPE_CHECKING:
    from pager.engine import handlers

START = "maintenance_start"
END = "maintenance_end"
RETRY = datetime.timedelta(seconds=1)
"""When some incidents a window concerns were locked elsewhere, its timer comes back this much later for them."""


def matches(window: models.MaintenanceWindow, incident: models.Incident) -> bool:
    """Whether the window covers the incident. Never a drill: a drill tests the chain on purpose, and one held
    quiet would report the chain as failing (nobody acknowledged) for no fault of its own."""
    if incident.drill:
        return False
    if incident.service in window.services:
        return True
    if not window.matchers:
        return False
    return matchers.matches_all([matchers.parse(m) for m in window.matchers], incident.labels)


def holding(
    windows: typing.Iterable[models.MaintenanceWindow], incident: models.Incident, now: datetime.datetime
) -> models.MaintenanceWindow | None:
    """The first active window (oldest id first) that holds the incident, if any."""
    return next((w for w in sorted(windows, key=lambda w: w.id) if w.active(now) and matches(w, incident)), None)


def _until(window: models.MaintenanceWindow) -> str:
    return window.ends_at.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def held(incident: models.Incident, window: models.MaintenanceWindow, *, opening: bool = False) -> plan.Plan:
    """Hold one incident: no escalation, no queued page; said on its timeline once per window."""
    if incident.maintenance_id == window.id:
        return plan.Plan(escalations=((incident.id, escalation.stop(incident.escalation)),))
    line = plan.Line(
        incident.id,
        timeline.Kind.MAINTENANCE,
        f"In maintenance window #{window.id} ({window.reason}) until {_until(window)}: nobody is paged",
        actor=window.created_by,
        details={"window": window.id, "ends_at": window.ends_at.isoformat()},
    )
    return plan.Plan(
        escalations=((incident.id, escalation.stop(incident.escalation)),),
        maintenance=((incident.id, window.id),),
        cancel_pages=() if opening else (incident.id,),
        log=(line,),
    )


def begin(
    window: models.MaintenanceWindow, incidents: typing.Iterable[models.Incident], now: datetime.datetime
) -> plan.Plan:
    """A window starts: hold every open incident it matches (running escalations and queued pages stop)."""
    if not window.active(now):
        return plan.Plan()
    return plan.Plan.total(
        held(i, window) for i in incidents if i.status.open and matches(window, i) and i.maintenance_id != window.id
    )


def end(
    window: models.MaintenanceWindow,
    incidents: typing.Iterable[models.Incident],
    active: typing.Iterable[models.MaintenanceWindow],
    ctx: handlers.Context,
) -> plan.Plan:
    """A window ends: release what it held; a triggered incident escalates from step 1, now."""
    others = [w for w in active if w.id != window.id]
    plans = []
    for incident in incidents:
        if incident.maintenance_id != window.id:
            continue
        successor = holding(others, incident, ctx.now)
        if successor is not None and incident.status.open:
            plans.append(held(incident, successor))
            continue
        released = incident.status is models.IncidentStatus.TRIGGERED
        then = "escalating from step 1" if released else f"it is {incident.status}"
        line = plan.Line(
            incident.id,
            timeline.Kind.MAINTENANCE,
            f"Maintenance window #{window.id} ended: {then}",
            details={"window": window.id},
        )
        plans.append(plan.Plan(maintenance=((incident.id, None),), log=(line,)))
        if released:
            plans.append(restart.plan_restart(incident, ctx))
    return plan.Plan.total(plans)


def on_due(timer: models.Timer, ctx: handlers.Context) -> plan.Plan:
    window = ctx.windows.get(int(timer.subject))
    if window is None:
        return plan.Plan()
    incidents = ctx.candidates.get(window.id, ())
    if timer.kind == START:
        p = begin(window, incidents, ctx.now)
    else:
        p = end(window, incidents, ctx.active, ctx)
    if window.id in ctx.partial:  # some were locked by another transaction: come back for them
        p += plan.Plan(set_timers=(plan.SetTimer(timer.kind, timer.subject, ctx.now + RETRY, models.Priority.P0),))
    return p


def timers(window: models.MaintenanceWindow) -> tuple[plan.SetTimer, ...]:
    """The start and end timers of a new window (urgent lane: quiet and its end come at once)."""
    return (
        plan.SetTimer(START, str(window.id), window.starts_at, models.Priority.P0),
        plan.SetTimer(END, str(window.id), window.ends_at, models.Priority.P0),
    )


def covering(
    windows: typing.Iterable[models.MaintenanceWindow], service: str, now: datetime.datetime
) -> models.MaintenanceWindow | None:
    """The active window that would hold a new incident of `service` with no labels, latest end first."""
    probe = models.Incident(0, service, "", models.Priority.P3, models.IncidentStatus.TRIGGERED, "", now, now)
    found = [w for w in windows if w.active(now) and matches(w, probe)]
    return max(found, key=lambda w: (w.ends_at, w.id)) if found else None
