"""Timer kinds and their handlers: what happens when a durable timer comes due, as a pure plan.

A handler is a function of (timer, context) → `plan.Plan`. The engine claims
due timers (store/escalations.py), calls the handler of each one's kind, and
writes the plans in the claim's transaction. A claimed timer is gone once
handled unless its plan arms it again (a repeating reminder re-arms itself).

When the engine first sees a new incident, every `ON_OPENED` hook may arm the
incident's timers (its response targets, ...), so a new kind is a handler here,
its arming hook, and nothing else: no loop, no column, no query.
"""

from __future__ import annotations

import dataclasses
import datetime
import typing

from pager import config, effects, escalation, models, plan
from pager.engine import (
    ack_expiry,
    actions,
    cadence,
    digest,
    drills,
    heartbeats,
    maintenance,
    postmortems,
    stability,
    stakeholders,
    targets,
)


@dataclasses.dataclass(frozen=True)
class Context:
    """What a handler may consult: the config, the instant, who is on call, how users can be reached."""

    config: config.Config
    now: datetime.datetime
    users_at: escalation.UsersAt
    channels_for: escalation.ChannelsFor
    # Maintenance (loaded with the claim): active windows; per window whose timer came due, the window,
    # the incidents it concerns, and whether some were locked elsewhere (`partial`).
    active: tuple[models.MaintenanceWindow, ...] = ()
    windows: typing.Mapping[int, models.MaintenanceWindow] = dataclasses.field(default_factory=dict)
    candidates: typing.Mapping[int, tuple[models.Incident, ...]] = dataclasses.field(default_factory=dict)
    partial: frozenset[int] = frozenset()


Handler = typing.Callable[[models.Timer, Context], plan.Plan]
Opened = typing.Callable[[models.Incident, Context], plan.Plan]

REASSESS = "reassess"
"""Timer kind armed by pager_ingest when it raises an incident's priority: `ON_RAISED` runs at the new one."""

# Each hook arms only what is not armed yet, so a raise (ON_RAISED) changes nothing twice.
ON_OPENED: tuple[Opened, ...] = (targets.arm, postmortems.arm, stability.note, cadence.arm, stakeholders.declare)
ON_RAISED: tuple[Opened, ...] = (stability.note, cadence.arm, stakeholders.declare_raised)
ON_DRILL_OPENED: tuple[Opened, ...] = (drills.arm,)
"""A drill arms only these: no response target, post-mortem or anything else that counts in SLOs."""


def reassess(timer: models.Timer, ctx: Context) -> plan.Plan:
    incident = timer.incident
    if incident is None or not incident.status.open or incident.drill:
        return plan.Plan()
    return plan.Plan.total(hook(incident, ctx) for hook in ON_RAISED)


HANDLERS: dict[str, Handler] = {
    targets.ACK: targets.on_due,
    targets.RESOLVE: targets.on_due,
    postmortems.KIND: postmortems.on_due,
    actions.KIND: actions.on_due,
    drills.END: drills.on_end,
    drills.SCHEDULE: drills.on_schedule,
    digest.KIND: digest.on_due,
    cadence.KIND: cadence.on_due,
    stability.KIND: stability.on_due,
    stability.RELAPSE: stability.on_relapse,
    stakeholders.ALL_CLEAR: stakeholders.on_all_clear,
    REASSESS: reassess,
    ack_expiry.KIND: ack_expiry.on_due,
    heartbeats.KIND: heartbeats.on_due,
    maintenance.START: maintenance.on_due,
    maintenance.END: maintenance.on_due,
}


def kept_timers(cfg: config.Config, now: datetime.datetime) -> list[plan.SetTimer]:
    """The config's own timers (no incident): armed when the daemon starts unless already armed."""
    return [*drills.schedule_timers(cfg, now), *digest.timers(cfg, now)]


def on_due(timer: models.Timer, ctx: Context) -> plan.Plan:
    """The plan for a due timer; a kind nobody handles (a timer left by a newer version) is dropped, loudly."""
    handler = HANDLERS.get(timer.kind)
    if handler is None:
        return plan.Plan(
            effects=(effects.warning("timer of an unknown kind dropped", kind=timer.kind, subject=timer.subject),)
        )
    return handler(timer, ctx)


def on_opened(incident: models.Incident, ctx: Context) -> plan.Plan:
    """Every kind's timers for an incident the engine sees for the first time."""
    return plan.Plan.total(hook(incident, ctx) for hook in (ON_DRILL_OPENED if incident.drill else ON_OPENED))
