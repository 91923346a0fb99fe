"""Response targets: acknowledged within `ack_within`, resolved within `resolve_within`, per priority.

The deadlines are fixed when the incident opens (`ack_by`, `resolve_by`), each
a durable timer. When one comes due and the target is unmet, the breach is a
timeline entry and `pager_response_target_breaches_total`, once per incident
and target: the timer is handled once, and re-armed by nothing.
"""

from __future__ import annotations

import typing

from pager import effects, models, plan, timeline, values

if typing.TYPE_CHECKING:
    from pager.engine import handlers

ACK = "ack_target"
RESOLVE = "resolve_target"
_TARGET = {ACK: "ack", RESOLVE: "resolve"}


def deadlines(incident: models.Incident, cfg: typing.Any) -> tuple[typing.Any, typing.Any]:
    """(ack_by, resolve_by) for this incident under the configured targets of its priority; None when unset."""
    policy = cfg.priority_policy(incident.priority)
    ack = incident.created_at + policy.ack_within if policy.ack_within else None
    resolve = incident.created_at + policy.resolve_within if policy.resolve_within else None
    return ack, resolve


def arm(incident: models.Incident, ctx: handlers.Context) -> plan.Plan:
    """Fix the incident's deadlines as it opens, and arm a timer for each."""
    ack_by, resolve_by = deadlines(incident, ctx.config)
    if ack_by is None and resolve_by is None:
        return plan.Plan()
    timers = tuple(
        plan.SetTimer(kind, str(incident.id), due, incident.priority, incident.id)
        for kind, due in ((ACK, ack_by), (RESOLVE, resolve_by))
        if due is not None
    )
    return plan.Plan(targets=((incident.id, ack_by, resolve_by),), set_timers=timers)


def on_due(timer: models.Timer, ctx: handlers.Context) -> plan.Plan:
    incident = timer.incident
    target = _TARGET[timer.kind]
    if incident is None or not incident.breached(target, ctx.now):
        return plan.Plan()
    verb = "acknowledged" if timer.kind == ACK else "resolved"
    within = values.format_duration(timer.due_at - incident.created_at)
    line = plan.Line(
        incident.id,
        timeline.Kind.TARGET_BREACHED,
        f"Response target missed: not {verb} within {within}",
        details={"target": target, "due": timer.due_at.isoformat()},
    )
    return plan.Plan(
        log=(line,),
        effects=(effects.Count("response_target_breaches", (incident.service, incident.priority.name, target)),),
    )
