"""Drills as timer kinds: a drill's end (its outcome counted, the drill closed) and scheduled drills.

A drill is an incident with `drill` set, opened by hand (POST /api/v1/drills) or by a schedule
(`drills: [{service, priority, every}]`). The engine walks its service's real chain like any
incident's; when the whole walk has had its time (`walk_length`), the drill ends: outcome
`acknowledged` or `unacknowledged` in `pager_drills_total{service,outcome}`, a `drill_ended`
timeline entry, and the drill resolved if it is still open.

A maintenance window never holds a drill (pager/engine/maintenance.py), but a scheduled drill that comes due
while one covers its service waits until the window ends, then runs, and its schedule goes on from the time
it was planned for.
"""

from __future__ import annotations

import datetime
import typing
import zoneinfo

from pager import config, effects, models, oncall, plan, timeline, values
from pager.engine import maintenance

if typing.TYPE_CHECKING:
    from pager.engine import handlers

END = "drill_end"
SCHEDULE = "drill_schedule"
ACTOR = "pager"


def walk_length(incident: models.Incident, cfg: config.Config) -> datetime.timedelta:
    """How long the chain takes to walk without an acknowledgement: every step's timeout, every round."""
    policy = cfg.policy(incident.escalation_policy) if incident.escalation_policy else None
    if policy is None:
        return datetime.timedelta()
    timeouts = [s.ack_timeout for s in policy.steps]
    if not cfg.priority_policy(incident.priority).escalate:
        return timeouts[0]
    return sum(timeouts, datetime.timedelta()) * (policy.repeat + 1)


def arm(incident: models.Incident, ctx: handlers.Context) -> plan.Plan:
    """A new drill: its end is due once the whole chain has had its time."""
    due = incident.created_at + walk_length(incident, ctx.config)
    return plan.Plan(set_timers=(plan.SetTimer(END, str(incident.id), due, incident.priority, incident.id),))


def outcome(incident: models.Incident) -> tuple[str, datetime.datetime | None]:
    """('acknowledged', when) if someone answered the drill (acknowledged, or resolved it by hand), else unacknowledged."""
    answered = incident.acknowledged_at or (incident.resolved_at if incident.resolved_by != ACTOR else None)
    return ("acknowledged" if answered else "unacknowledged"), answered


def on_end(timer: models.Timer, ctx: handlers.Context) -> plan.Plan:
    incident = timer.incident
    if incident is None or not incident.drill:
        return plan.Plan()
    result, answered = outcome(incident)
    if answered is not None:
        seconds = int((answered - incident.created_at).total_seconds())
        who = incident.acknowledged_by or incident.resolved_by or "someone"
        user = ctx.config.user(who)
        name = user.display_name if user else who
        message = (
            f"Drill over: acknowledged by {name} after {values.format_duration(datetime.timedelta(seconds=seconds))}"
        )
        details: dict[str, typing.Any] = {"outcome": result, "seconds_to_acknowledge": seconds, "by": who}
    else:
        within = (
            values.format_duration(timer.due_at - incident.created_at) if timer.due_at > incident.created_at else "0s"
        )
        message = f"Drill over: nobody acknowledged within {within} (the whole chain)"
        details = {"outcome": result, "seconds_to_acknowledge": None, "by": None}
    p = plan.Plan(
        log=(plan.Line(incident.id, timeline.Kind.DRILL_ENDED, message, details=details),),
        effects=(effects.Count("drills", (incident.service, result)),),
    )
    if incident.status is not models.IncidentStatus.RESOLVED:
        p += plan.Plan(close_drills=(incident.id,))
    return p


def subject(entry: config.DrillSchedule) -> str:
    """A schedule's timer key: a changed entry is a new schedule, and the old one's timer is dropped."""
    return f"{entry.service}/{entry.priority.name}/{values.format_duration(entry.every)}"


def _zone(cfg: config.Config, entry: config.DrillSchedule) -> zoneinfo.ZoneInfo:
    service = cfg.service(entry.service)
    return zoneinfo.ZoneInfo((service.time_zone if service else None) or "UTC")


def _step(at: datetime.datetime, every: datetime.timedelta, zone: zoneinfo.ZoneInfo) -> datetime.datetime:
    """`every` after `at`; whole days keep the local time of day across DST, as rotations do."""
    if every % datetime.timedelta(days=1):
        return at + every
    return oncall.to_utc(at.astimezone(zone).replace(tzinfo=None) + every, zone)


def next_run(
    after: datetime.datetime, entry: config.DrillSchedule, cfg: config.Config, now: datetime.datetime
) -> datetime.datetime:
    """The first run after `after` that is still ahead of `now`: runs missed while pager was down are skipped."""
    zone = _zone(cfg, entry)
    at = _step(after, entry.every, zone)
    while at <= now:
        at = _step(at, entry.every, zone)
    return at


def schedule_timers(cfg: config.Config, now: datetime.datetime) -> list[plan.SetTimer]:
    """The timer of every configured schedule, armed (only if it is not armed yet) when the daemon starts."""
    out = []
    for entry in cfg.drills:
        if entry.first is not None:
            first = oncall.to_utc(entry.first, _zone(cfg, entry))
            if first <= now:
                first = next_run(first, entry, cfg, now)
        else:
            first = _step(now, entry.every, _zone(cfg, entry))
        out.append(plan.SetTimer(SCHEDULE, subject(entry), first, models.Priority.P3))
    return out


def on_schedule(timer: models.Timer, ctx: handlers.Context) -> plan.Plan:
    """A scheduled drill is due: open it, and arm the next run."""
    cfg = ctx.config
    entry = next((e for e in cfg.drills if subject(e) == timer.subject), None)
    service = cfg.service(entry.service) if entry else None
    if entry is None or service is None:
        return plan.Plan(
            effects=(
                effects.Log("info", "drill schedule no longer configured; dropped", (("schedule", timer.subject),)),
            )
        )
    planned = datetime.datetime.fromisoformat(timer.data["planned"]) if timer.data.get("planned") else timer.due_at
    window = maintenance.covering(ctx.active, service.id, ctx.now)
    if window is not None:  # planned quiet: the drill waits for the window's end, and keeps its schedule
        later = plan.SetTimer(
            SCHEDULE, timer.subject, window.ends_at, models.Priority.P3, data={"planned": planned.isoformat()}
        )
        return plan.Plan(
            set_timers=(later,),
            effects=(
                effects.Log(
                    "info",
                    "scheduled drill postponed: a maintenance window covers its service",
                    (("service", service.id), ("window", window.id), ("until", window.ends_at.isoformat())),
                ),
            ),
        )
    drill = plan.OpenDrill(
        service.id, service.escalation_policy, entry.priority, entry.summary, f"schedule:{timer.subject}"
    )
    again = plan.SetTimer(SCHEDULE, timer.subject, next_run(planned, entry, cfg, ctx.now), models.Priority.P3)
    return plan.Plan(
        drills=(drill,),
        set_timers=(again,),
        effects=(
            effects.Log("info", "scheduled drill opened", (("service", service.id), ("priority", entry.priority.name))),
        ),
    )
