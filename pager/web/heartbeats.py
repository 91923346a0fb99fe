"""Heartbeats over HTTP: `POST|GET /v1/heartbeats/{id}` beats one (its token as Bearer or `?token=`),
`GET /api/v1/heartbeats` shows each one's last beat and state. An always-firing alert beats too
(`feed`, called by ingest before anything is stored)."""

from __future__ import annotations

import hmac
import typing

from aiohttp import web

from pager import config, models, values
from pager.engine import heartbeats as beat_plan
from pager.store import store
from pager.web import auth, jsonout, keys


def _summary(hb: config.Heartbeat, row: models.Heartbeat | None) -> dict[str, typing.Any]:
    return {
        "id": hb.id,
        "service": hb.service,
        "priority": hb.priority.name,
        "interval": values.format_duration(hb.interval),
        "grace": values.format_duration(hb.grace) if hb.grace else "0s",
        "fed_by": [kind for kind, on in (("http", hb.token_env is not None), ("alert", bool(hb.alert))) if on],
        "state": beat_plan.state(row),
        "last_beat_at": jsonout.timestamp(row.last_beat_at if row else None),
        "missed_at": jsonout.timestamp(row.missed_at if row else None),
        "deadline": jsonout.timestamp(row.deadline if row else None),
        "incident": row.incident_id if row else None,
    }


async def _record(app: web.Application, hb: config.Heartbeat) -> None:
    now = app[keys.CLOCK].now()
    resolved = await app[keys.HEARTBEATS].beat(hb, now)
    if resolved is not None:
        app[keys.METRICS].observe_transition(
            store.Transition(
                resolved["id"],
                resolved["service"],
                models.Priority(resolved["priority"]),
                models.IncidentStatus.RESOLVED,
                resolved["created_at"],
                now,
            )
        )


async def beat(request: web.Request) -> web.Response:
    app = request.app
    settings = app[keys.SETTINGS]
    hb = settings.config.heartbeat(request.match_info["id"])
    if hb is None:
        return jsonout.error(404, f"no heartbeat {request.match_info['id']!r} is configured")
    expected = settings.secrets.heartbeat_tokens.get(hb.id)
    given = auth.bearer(request) or request.query.get("token")
    if expected is None or given is None or not hmac.compare_digest(given.encode(), expected.encode()):
        return jsonout.error(
            401, f"missing or wrong token for heartbeat {hb.id}: send Authorization: Bearer <token> or ?token="
        )
    await request.read()  # whatever a job posts is not needed; read so the connection can be reused
    await _record(app, hb)
    rows = await app[keys.HEARTBEATS].list([hb.id])
    return jsonout.response(_summary(hb, rows.get(hb.id)))


async def feed(app: web.Application, alerts: list[models.Alert]) -> list[models.Alert]:
    """Beat the heartbeats an always-firing alert feeds; returns the alerts that are not beats."""
    rest, beaten = beat_plan.split(alerts, app[keys.SETTINGS].heartbeats())
    for hb in beaten:
        await _record(app, hb)
    return rest


async def list_heartbeats(request: web.Request) -> web.Response:
    cfg = request.app[keys.SETTINGS].config
    rows = await request.app[keys.HEARTBEATS].list([hb.id for hb in cfg.heartbeats])
    return jsonout.response({"heartbeats": [_summary(hb, rows.get(hb.id)) for hb in cfg.heartbeats]})


def routes() -> typing.Iterable[web.AbstractRouteDef]:
    return [
        web.post("/v1/heartbeats/{id}", beat),
        web.get("/v1/heartbeats/{id}", beat),
        web.get("/api/v1/heartbeats", list_heartbeats),
    ]
