"""Heartbeats (seed 003: silence is not health): a job beats, and its silence opens an incident.

Each configured heartbeat has a durable deadline (timer kind `heartbeat`, no incident): a beat
moves it to `now + interval + grace`; when it comes due, the incident "heartbeat <id> missed
(last beat <time>)" opens on the heartbeat's service and is paged like any other. The next beat
resolves it. Beats come over HTTP or from an always-firing alert (`heartbeats[].alert`).
"""

from __future__ import annotations

import datetime
import typing

from pager import config, matchers, models, plan

if typing.TYPE_CHECKING:
    from pager.engine import handlers

KIND = "heartbeat"


def dedup_key(heartbeat_id: str) -> str:
    return f"heartbeat:{heartbeat_id}"


def deadline(hb: config.Heartbeat, last: datetime.datetime, last_beat: datetime.datetime | None) -> plan.SetTimer:
    """The timer a beat (or a first registration, `last_beat` None) arms."""
    return plan.SetTimer(
        KIND,
        hb.id,
        last + hb.allowed,
        hb.priority,
        None,
        {"last_beat": last_beat.isoformat() if last_beat else None, "since": last.isoformat()},
    )


def on_beat(hb: config.Heartbeat, now: datetime.datetime) -> plan.Plan:
    return plan.Plan(set_timers=(deadline(hb, now, now),))


def _when(text: str | None) -> str:
    if not text:
        return "never"
    return datetime.datetime.fromisoformat(text).astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def on_due(timer: models.Timer, ctx: handlers.Context) -> plan.Plan:
    hb = ctx.config.heartbeat(timer.subject)
    if hb is None:
        return plan.Plan()  # no longer configured
    last = timer.data.get("last_beat")
    since = "" if last else f"; watched since {_when(timer.data.get('since'))}"
    service = ctx.config.service(hb.service)
    return plan.Plan(
        heartbeats_missed=(
            plan.HeartbeatMissed(
                heartbeat=hb.id,
                service=hb.service,
                policy=service.escalation_policy if service else None,
                priority=hb.priority,
                summary=f"heartbeat {hb.id} missed (last beat {_when(last)}{since})",
                dedup_key=dedup_key(hb.id),
            ),
        )
    )


def split(
    alerts: typing.Sequence[models.Alert], heartbeats: typing.Sequence[config.Heartbeat]
) -> tuple[list[models.Alert], list[config.Heartbeat]]:
    """(the alerts that are not beats, the heartbeats a firing one beat): an always-firing alert pages nobody."""
    fed = [hb for hb in heartbeats if hb.alert]
    if not fed:
        return list(alerts), []
    rest: list[models.Alert] = []
    beaten: dict[str, config.Heartbeat] = {}
    for alert in alerts:
        hits = [hb for hb in fed if matchers.matches_all(hb.alert, alert.labels)]
        if not hits:
            rest.append(alert)
        elif alert.action is models.Action.TRIGGER:
            beaten.update((hb.id, hb) for hb in hits)
    return rest, list(beaten.values())


def state(row: models.Heartbeat | None) -> str:
    """`up` (beating), `missed` (its deadline passed; an incident is open or was), `waiting` (no beat yet)."""
    if row is None or (row.last_beat_at is None and row.missed_at is None):
        return "waiting"
    return "missed" if row.missed_at is not None else "up"
