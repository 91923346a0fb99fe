"""/maintenance: the active and upcoming maintenance windows; start one and end one, as the signed-in user.

The form asks what the API's JSON asks (services or matchers, a start, a duration or an end, a
reason) and goes through the same checks (`pager.web.maintenance.parse`); times are in the
viewer's zone. What a window does to incidents is the engine's (pager/engine/maintenance.py).
"""

from __future__ import annotations

import datetime
import typing

import structlog
from aiohttp import web

from pager import oncall
from pager.web import api, keys
from pager.web import maintenance as windows_api
from pager.web.ui import pages, render, viewer, views

log = structlog.get_logger(__name__)

DURATIONS = ("30m", "1h", "2h", "4h", "8h", "1d", "3d", "7d")
DEFAULT_DURATION = "2h"
NOTICES = {
    "started": "Maintenance window #{window} is active: nobody is paged for what it covers until it ends.",
    "scheduled": "Maintenance window #{window} is scheduled.",
    "ended": "Maintenance window #{window} has ended: what is still triggered is paged from step 1.",
    "already_ended": "Maintenance window #{window} had already ended; nothing changed.",
}


class FormError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _local(value: str, field: str, ctx: views.Context) -> str | None:
    """A `datetime-local` value in the viewer's zone as RFC 3339 UTC; empty: None."""
    value = value.strip()
    if not value:
        return None
    try:
        naive = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise FormError(f"{field}: expected a date and time such as 2026-11-23T14:30, got {value!r}") from None
    if naive.tzinfo is not None:
        raise FormError(f"{field}: give a local time, without a zone")
    return oncall.to_utc(naive, ctx.tz).isoformat()


def from_form(form: typing.Mapping[str, typing.Any], ctx: views.Context, user: str) -> dict[str, typing.Any]:
    """The API's JSON body from the form's fields."""
    getall = getattr(form, "getall", None)
    services = [str(s) for s in getall("service", [])] if getall else []
    given = [line.strip() for line in str(form.get("matchers", "")).splitlines() if line.strip()]
    data: dict[str, typing.Any] = {
        "services": services,
        "matchers": given,
        "reason": str(form.get("reason", "")).strip(),
        "by": user,
    }
    starts_at = _local(str(form.get("starts_at", "")), "Starts", ctx)
    ends_at = _local(str(form.get("ends_at", "")), "Ends", ctx)
    if starts_at:
        data["starts_at"] = starts_at
    if ends_at:
        data["ends_at"] = ends_at
    else:
        data["duration"] = str(form.get("duration", "")).strip() or DEFAULT_DURATION
    if not data["reason"]:
        raise FormError("Say why: the reason shows on every incident the window holds.")
    return data


async def _show(
    request: web.Request,
    visit: viewer.Visit,
    *,
    form: typing.Mapping[str, typing.Any] | None = None,
    error: str = "",
    status: int = 200,
) -> web.Response:
    ctx = pages.context(request, visit.viewer)
    found = [views.window_view(ctx, w) for w in await request.app[keys.MAINTENANCE].current(ctx.now)]
    done, which = request.query.get("done", ""), request.query.get("window", "")
    notice = NOTICES[done].format(window=which) if done in NOTICES and which.isascii() and which.isdigit() else ""
    form = form or {}
    getall = getattr(form, "getall", None)
    return pages.show(
        request,
        visit,
        "maintenance.html",
        {
            "title": "Maintenance",
            "active": [w for w in found if w.state == "active"],
            "upcoming": [w for w in found if w.state == "upcoming"],
            "services": [(s.id, s.name or s.id) for s in ctx.cfg.services],
            "durations": DURATIONS,
            "zone": str(ctx.tz),
            "notice": notice,
            "error": error,
            "form": {
                "services": set(getall("service", [])) if getall else set(),
                "matchers": str(form.get("matchers", "")),
                "starts_at": str(form.get("starts_at", "")),
                "ends_at": str(form.get("ends_at", "")),
                "duration": str(form.get("duration", "")) or DEFAULT_DURATION,
                "reason": str(form.get("reason", "")),
            },
        },
        status,
    )


@viewer.page
async def page(request: web.Request, visit: viewer.Visit) -> web.Response:
    return await _show(request, visit)


@viewer.action
async def start(request: web.Request, visit: viewer.Visit) -> web.Response:
    """Start (or schedule) a window, recorded as the signed-in user."""
    v = visit.viewer
    assert v is not None
    app = request.app
    form = await request.post()
    ctx = pages.context(request, v)
    try:
        fields = windows_api.parse(from_form(form, ctx, v.user.id), ctx.cfg, ctx.now)
    except (FormError, api.BadRequest) as exc:
        return await _show(request, visit, form=form, error=f"The window was not saved. {exc.message}", status=400)
    window = await windows_api.start(app, fields, ctx.now)
    log.info("maintenance window from the web UI", window=window.id, user=v.user.id)
    done = "started" if window.active(ctx.now) else "scheduled"
    return render.see_other(request, "/maintenance", done=done, window=window.id)


@viewer.action
async def end(request: web.Request, visit: viewer.Visit) -> web.Response:
    """End a window now (an upcoming one never starts), recorded as the signed-in user."""
    v = visit.viewer
    assert v is not None
    raw = request.match_info["id"]
    if not (raw.isascii() and raw.isdigit() and len(raw) < 19):
        return pages.not_found(request, visit, f"There is no maintenance window {raw}.")
    app = request.app
    now = app[keys.CLOCK].now()
    window = await windows_api.stop(app, int(raw), v.user.id, now)
    if window is None:
        if await app[keys.MAINTENANCE].get(int(raw)) is None:
            return pages.not_found(request, visit, f"There is no maintenance window {raw}.")
        return render.see_other(request, "/maintenance", done="already_ended", window=raw)
    log.info("maintenance window ended from the web UI", window=window.id, user=v.user.id)
    return render.see_other(request, "/maintenance", done="ended", window=window.id)
