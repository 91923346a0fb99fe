"""/api/v1/maintenance: planned quiet for services, or for alerts matching matchers, now or scheduled.

`POST` `{"services": [...] | "matchers": [...], "starts_at"?, "ends_at" | "duration", "reason", "by"}`
→ 201 with the window; `GET` → active and upcoming windows; `DELETE /api/v1/maintenance/{id}` ends
one now. What a window does to incidents is the engine's (pager/engine/maintenance.py).
"""

from __future__ import annotations

import datetime
import typing

from aiohttp import web

from pager import config, matchers, models, values
from pager.store import db
from pager.web import api, jsonout, keys

MAX_SPAN = datetime.timedelta(days=90)
CACHE_FOR = 1.0
"""Seconds ingest trusts its copy of the windows when counting suppressed alerts (metrics only)."""


def window_json(w: models.MaintenanceWindow, now: datetime.datetime) -> dict[str, typing.Any]:
    state = "active" if w.active(now) else "upcoming" if w.starts_at > now else "ended"
    return {
        "id": w.id,
        "services": list(w.services),
        "matchers": list(w.matchers),
        "starts_at": jsonout.timestamp(w.starts_at),
        "ends_at": jsonout.timestamp(w.ends_at),
        "reason": w.reason,
        "by": w.created_by,
        "created_at": jsonout.timestamp(w.created_at),
        "ended_by": w.ended_by,
        "state": state,
    }


def _instant(data: dict[str, typing.Any], key: str) -> datetime.datetime | None:
    raw = data.get(key)
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise api.BadRequest(f"'{key}' must be an RFC 3339 time such as 2026-11-23T09:00:00Z")
    try:
        value = datetime.datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise api.BadRequest(f"'{key}': expected an RFC 3339 time such as 2026-11-23T09:00:00Z, got {raw!r}") from None
    if value.tzinfo is None:
        raise api.BadRequest(f"'{key}': give a UTC offset or Z, got {raw!r}")
    return value


def _strings(data: dict[str, typing.Any], key: str) -> list[str]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise api.BadRequest(f"'{key}' must be an array of non-empty strings")
    return value


def parse(data: dict[str, typing.Any], cfg: config.Config, now: datetime.datetime) -> dict[str, typing.Any]:
    """The fields of a new window from the API's JSON (the web UI's form builds the same), or BadRequest."""
    services, given = _strings(data, "services"), _strings(data, "matchers")
    if not services and not given:
        raise api.BadRequest("give 'services' (service ids) or 'matchers' (such as 'team=\"web\"'), or both")
    for i, service in enumerate(services):
        if cfg.service(service) is None:
            raise api.BadRequest(f"'services[{i}]': unknown service {service!r}")
    for i, text in enumerate(given):
        try:
            matchers.parse(text)
        except ValueError as exc:
            raise api.BadRequest(f"'matchers[{i}]': {exc}") from None
    starts_at = _instant(data, "starts_at") or now
    ends_at = _instant(data, "ends_at")
    duration = data.get("duration")
    if (ends_at is None) == (duration is None):
        raise api.BadRequest("give exactly one of 'ends_at' and 'duration'")
    if duration is not None:
        try:
            ends_at = starts_at + values.parse_duration(duration)
        except ValueError as exc:
            raise api.BadRequest(f"'duration': {exc}") from None
    assert ends_at is not None
    if ends_at <= max(starts_at, now):
        raise api.BadRequest("'ends_at' must be after 'starts_at' and in the future")
    if ends_at - starts_at > MAX_SPAN:
        raise api.BadRequest("a maintenance window lasts at most 90 days")
    reason = api._string(data, "reason", required=True, max_len=1000)
    by = api._string(data, "by", required=True, max_len=100)
    return {
        "services": services,
        "matchers": [str(matchers.parse(m)) for m in given],
        "starts_at": starts_at,
        "ends_at": ends_at,
        "reason": reason,
        "by": by,
    }


async def start(
    app: web.Application, fields: dict[str, typing.Any], now: datetime.datetime
) -> models.MaintenanceWindow:
    """Store a window (fields from `parse`), then tell ingest's cache and wake the engine."""
    window = await app[keys.MAINTENANCE].create(**fields, now=now)
    app[keys.MAINTENANCE_CACHE].forget()
    app[keys.ENGINE].wake()
    return window


async def stop(
    app: web.Application, window_id: int, by: str, now: datetime.datetime
) -> models.MaintenanceWindow | None:
    """End a window now; None when it had already ended or never existed."""
    window = await app[keys.MAINTENANCE].end(window_id, by, now)
    if window is not None:
        app[keys.MAINTENANCE_CACHE].forget()
        app[keys.ENGINE].wake()
    return window


async def create(request: web.Request) -> web.Response:
    app = request.app
    now = app[keys.CLOCK].now()
    try:
        fields = parse(await api._json_body(request), app[keys.SETTINGS].config, now)
    except api.BadRequest as exc:
        return jsonout.error(400, exc.message)
    window = await start(app, fields, now)
    return jsonout.response(window_json(window, now), 201, {"Location": f"/api/v1/maintenance/{window.id}"})


async def current(request: web.Request) -> web.Response:
    now = request.app[keys.CLOCK].now()
    windows = await request.app[keys.MAINTENANCE].current(now)
    return jsonout.response({"maintenance": [window_json(w, now) for w in windows]})


async def end(request: web.Request) -> web.Response:
    app = request.app
    raw = request.match_info["id"]
    if not (raw.isascii() and raw.isdigit() and len(raw) < 19):
        return jsonout.error(404, f"no maintenance window {raw!r}")
    try:
        by = api._string(await api._json_body(request, optional=True), "by", max_len=100) or "api"
    except api.BadRequest as exc:
        return jsonout.error(400, exc.message)
    now = app[keys.CLOCK].now()
    window = await stop(app, int(raw), by, now)
    if window is None:
        found = await app[keys.MAINTENANCE].get(int(raw))
        if found is None:
            return jsonout.error(404, f"no maintenance window {raw}")
        return jsonout.error(409, f"maintenance window {raw} has already ended", maintenance=window_json(found, now))
    return jsonout.response(window_json(window, now))


class Cache:
    """Ingest's copy of current windows, for `pager_alerts_suppressed_total` only; decisions read the database."""

    def __init__(self) -> None:
        self._windows: list[models.MaintenanceWindow] = []
        self._at: float | None = None

    def forget(self) -> None:
        self._at = None

    async def windows(self, app: web.Application, loop_time: float) -> list[models.MaintenanceWindow]:
        if self._at is None or loop_time - self._at > CACHE_FOR:
            try:
                self._windows = await app[keys.MAINTENANCE].current(app[keys.CLOCK].now())
            except db.Unavailable:
                pass  # the ingest itself will say so; a metric is no reason to fail it
            self._at = loop_time
        return self._windows


async def count_suppressed(app: web.Application, alerts: typing.Sequence[models.Classified], loop_time: float) -> None:
    """Count firing alerts that an active window covers: recorded, paging nobody."""
    windows = await app[keys.MAINTENANCE_CACHE].windows(app, loop_time)
    if not windows:
        return
    now = app[keys.CLOCK].now()
    active = [w for w in windows if w.active(now)]
    for c in alerts:
        if c.alert.action is not models.Action.TRIGGER:
            continue
        for w in active:
            if c.service in w.services or (
                w.matchers and matchers.matches_all([matchers.parse(m) for m in w.matchers], c.alert.labels)
            ):
                app[keys.METRICS].alerts_suppressed.labels(c.service, "maintenance").inc()
                break


def routes() -> typing.Iterable[web.AbstractRouteDef]:
    return [
        web.post("/api/v1/maintenance", create),
        web.get("/api/v1/maintenance", current),
        web.delete("/api/v1/maintenance/{id}", end),
    ]
