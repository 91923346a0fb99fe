"""Starting an incident's escalation over from step 1, as a plan: after maintenance, after an expired ack.

Pure: a function of (incident, config, who is on call, now). The walk runs in a new round
(`escalation.restart`), so its pages are new outbox keys and nobody's earlier page hides them.
"""

from __future__ import annotations

import typing

from pager import effects, escalation, models, plan, timeline

if typing.TYPE_CHECKING:
    from pager.engine import handlers


def plan_restart(incident: models.Incident, ctx: handlers.Context) -> plan.Plan:
    """Page step 1 of the incident's policy now and arm the next step; a missing policy is said so."""
    cfg = ctx.config
    policy = cfg.policy(incident.escalation_policy) if incident.escalation_policy else None
    if policy is None:
        why = f"service {incident.service} has no escalation policy; nobody is paged"
        return plan.Plan(
            escalations=((incident.id, escalation.stop(incident.escalation)),),
            log=(plan.Line(incident.id, timeline.Kind.NO_POLICY, why),),
        )
    decision = escalation.restart(
        incident.id,
        incident.escalation,
        policy,
        cfg.priority_policy(incident.priority),
        ctx.now,
        ctx.users_at,
        ctx.channels_for,
    )
    pages = []
    for page in decision.pages:
        user = cfg.user(page.user)
        address = user.address(page.channel) if user else None
        if address:
            pages.append(plan.QueuedPage(page, address))
    steps = sorted({p.step for p in decision.pages})
    return plan.Plan(
        escalations=((incident.id, decision.state),),
        pages=tuple(pages),
        log=tuple(plan.Line(incident.id, e.kind, e.message) for e in decision.log),
        effects=tuple(effects.Count("escalations", (incident.service, str(s + 1))) for s in steps),
    )
