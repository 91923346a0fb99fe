"""The stable all-clear: an incident whose alerts all cleared is `stabilizing` for `stable_for`, then resolves.

pager_ingest moves an incident to `stabilizing` when monitoring clears its last firing alert
and the incident's `stable_for` is set (recovered_at, stable_until, the `stable_window`
timer), and back to `triggered` when one fires again before stable_until (timeline
`relapsed`, and the `relapse` timer, due at once). This module keeps `stable_for` on the
incident row as its priority says (on opening and on a raise); walks the policy again from
step 1 when it relapsed (in a new round, as an expired acknowledgement does); and resolves the
incident when its window passes: timeline `resolved`, the stakeholders' all clear, and MTTR
counted to the moment the alerts cleared.
"""

from __future__ import annotations

import datetime
import typing

from pager import effects, models, plan, timeline, values
from pager.engine import restart, stakeholders

if typing.TYPE_CHECKING:
    from pager.engine import handlers

KIND = "stable_window"
RELAPSE = "relapse"


def note(incident: models.Incident, ctx: handlers.Context) -> plan.Plan:
    """Keep the priority's stable_for on the row, where pager_ingest reads it when the alerts clear."""
    wanted = ctx.config.priority_policy(incident.priority).stable_for
    if incident.stable_for == wanted or not incident.status.open:
        return plan.Plan()
    return plan.Plan(stable_for=((incident.id, wanted),))


def on_relapse(timer: models.Timer, ctx: handlers.Context) -> plan.Plan:
    """It fired again while stabilizing: page step 1 again now (a maintenance window holding it pages at its end)."""
    incident = timer.incident
    if incident is None or incident.status is not models.IncidentStatus.TRIGGERED:
        return plan.Plan()  # acknowledged or resolved since: nobody needs paging
    if incident.maintenance_id is not None:
        return plan.Plan()
    return restart.plan_restart(incident, ctx)


def on_due(timer: models.Timer, ctx: handlers.Context) -> plan.Plan:
    incident = timer.incident
    if incident is None or incident.status is not models.IncidentStatus.STABILIZING:
        return plan.Plan()  # relapsed (a new window re-arms this timer) or resolved by a person
    until, recovered = incident.stable_until, incident.recovered_at
    if until is None or recovered is None:
        return plan.Plan()
    if until > ctx.now:
        return plan.Plan(set_timers=(plan.SetTimer(KIND, timer.subject, until, incident.priority, incident.id),))
    held = values.format_duration(max(until - recovered, datetime.timedelta(seconds=1)))
    line = plan.Line(
        incident.id,
        timeline.Kind.RESOLVED,
        f"Resolved: no alert fired again for {held} after they cleared at {recovered:%H:%M:%S} UTC",
        details={"recovered_at": recovered.isoformat(), "stable_for": held},
    )
    mttr = max((recovered - incident.created_at).total_seconds(), 0.0)
    done = plan.Plan(
        resolves=(plan.Resolve(incident.id, until),),  # at the window's end, even if this engine is late
        log=(line,),
        effects=(effects.Observe("time_to_resolve", mttr, (incident.service, incident.priority.name)),),
    )
    return done + stakeholders.all_clear(stakeholders.resolved(incident, until), ctx)
