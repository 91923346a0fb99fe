"""Acknowledgement expiry (`priorities.P0.ack_expires: 2h`): an ack left unresolved that long lapses.

GoAlert users asked for it (goalert#3378): an acknowledged incident nobody resolves must not sit
quiet forever. Acknowledging arms a durable timer (kind `ack_expiry`, subject the incident); when
it comes due and the incident is still acknowledged, it is triggered again (timeline
`ack_expired`) and its escalation starts over from step 1. Under a maintenance window it is
triggered again but pages nobody until the window ends. A drill's acknowledgement never expires:
it is the answer the drill was asking for, and expiring it would page the chain a second time and
count the drill as unacknowledged.
"""

from __future__ import annotations

import datetime
import typing

from pager import models, plan, timeline, values
from pager.engine import restart

if typing.TYPE_CHECKING:
    from pager import config
    from pager.engine import handlers

KIND = "ack_expiry"


def arm(incident_id: int, priority: models.Priority, cfg: config.Config, now: datetime.datetime) -> plan.Plan:
    """The timer an acknowledgement at `now` arms, if its priority's acks expire."""
    expires = cfg.priority_policy(priority).ack_expires
    if expires is None:
        return plan.Plan()
    return plan.Plan(set_timers=(plan.SetTimer(KIND, str(incident_id), now + expires, priority, incident_id),))


def on_due(timer: models.Timer, ctx: handlers.Context) -> plan.Plan:
    incident = timer.incident
    if incident is None or incident.status is not models.IncidentStatus.ACKNOWLEDGED:
        return plan.Plan()  # resolved (or triggered again) since: nothing lapses
    if incident.drill:
        return plan.Plan()  # a drill's acknowledgement is its answer (one armed by an older pager lapses quietly)
    expires = ctx.config.priority_policy(incident.priority).ack_expires
    if expires is None or incident.acknowledged_at is None:
        return plan.Plan()  # the setting was removed
    due = incident.acknowledged_at + expires
    if due > ctx.now:  # acknowledged again later, or the setting grew: wait for the new instant
        return plan.Plan(set_timers=(plan.SetTimer(KIND, timer.subject, due, incident.priority, incident.id),))
    who = incident.acknowledged_by or "someone"
    held = incident.maintenance_id is not None
    then = "paging nobody while maintenance holds it" if held else "escalating from step 1"
    line = plan.Line(
        incident.id,
        timeline.Kind.ACK_EXPIRED,
        f"Acknowledgement by {who} expired: unresolved {values.format_duration(expires)} after it; "
        f"triggered again, {then}",
        details={"acknowledged_by": incident.acknowledged_by, "acknowledged_at": incident.acknowledged_at.isoformat()},
    )
    reopened = plan.Plan(ack_expired=(incident.id,), log=(line,))
    if held:
        return reopened
    return reopened + restart.plan_restart(incident, ctx)
