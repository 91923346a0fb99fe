"""Response targets: acknowledged within `ack_within`, resolved within `resolve_within`, per priority.

The deadlines are fixed when the incident opens (`ack_by`, `resolve_by`), each
a durable timer. When one comes due and the target is unmet, the breach is a
timeline entry and `pager_response_target_breaches_total`, once per incident
and target: the timer is handled once, and re-armed by nothing but a stability
window still open at the deadline (decided when the window ends). Recovering
counts as meeting the target once the incident resolves: MTTR, too, counts to
the moment the alerts cleared.
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
    """Fix the incident's deadlines as it opens, and arm a timer for each; once (a relapse keeps them)."""
    if incident.ack_by is not None or incident.resolve_by is not None:
        return plan.Plan()
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
    if incident is None:
        return plan.Plan()
    due = incident.ack_by if timer.kind == ACK else incident.resolve_by
    stable_until, recovered = incident.stable_until, incident.recovered_at
    if (
        incident.status is models.IncidentStatus.STABILIZING
        and incident.met_at(target) is None
        and due is not None
        and recovered is not None
        and recovered <= due
        and stable_until is not None
        and stable_until > ctx.now
    ):
        # Recovered in time but not over yet: decided when the window ends (a relapse misses the target).
        again = plan.SetTimer(timer.kind, timer.subject, stable_until, incident.priority, incident.id)
        return plan.Plan(set_timers=(again,))
    if due is None or not incident.breached(target, ctx.now):
        return plan.Plan()
    verb = "acknowledged" if timer.kind == ACK else "resolved"
    within = values.format_duration(due - incident.created_at)
    line = plan.Line(
        incident.id,
        timeline.Kind.TARGET_BREACHED,
        f"Response target missed: not {verb} within {within}",
        details={"target": target, "due": due.isoformat()},
    )
    return plan.Plan(
        log=(line,),
        effects=(effects.Count("response_target_breaches", (incident.service, incident.priority.name, target)),),
    )
