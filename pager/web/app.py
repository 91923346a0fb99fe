"""The HTTP application: routes and middlewares over handlers. The daemon (`pager.daemon`) composes the rest."""

from __future__ import annotations

import typing

import structlog
from aiohttp import web

from pager import clock as clock_mod
from pager import config
from pager import metrics as metrics_mod
from pager.store import db
from pager.web import (
    ackpage,
    api,
    changes,
    channel_status,
    health,
    heartbeats,
    ingest,
    jsonout,
    keys,
    learning,
    maintenance,
    openapi,
    practice,
    slack_interactive,
    statuspage,
    twilio_sms,
    twilio_voice,
    ui,
    webhooks,
)

log = structlog.get_logger(__name__)

MAX_BODY = 1024 * 1024

Handler = typing.Callable[[web.Request], typing.Awaitable[web.StreamResponse]]


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Temporary faults answer 5xx with Retry-After (Alertmanager retries those); nothing crashes the daemon."""
    try:
        return await handler(request)
    except db.Unavailable as exc:
        log.warning("request failed: database unavailable", path=request.path, error=str(exc))
        return jsonout.error(503, "database unavailable; the event was not stored, retry later")
    except db.InvalidInput as exc:
        log.warning("request refused: a value cannot be stored", path=request.path, error=str(exc))
        return jsonout.error(400, f"the request holds a value pager cannot store or search for: {exc}")
    except web.HTTPException:
        raise
    except Exception:
        log.exception("request failed", path=request.path, method=request.method)
        return jsonout.error(500, "internal error; the event was not stored, retry later")


_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


@web.middleware
async def readable_forms(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A form body that cannot be parsed (multipart without a boundary, ...) is the sender's 400, not our 500.

    Parsed once here; aiohttp keeps the result, so handlers' own `request.post()` reads it again for free."""
    if request.method in ("POST", "PUT", "PATCH") and request.content_type in _FORMS:
        try:
            await request.post()
        except ValueError as exc:
            return jsonout.error(400, f"the form body cannot be read: {exc}")
    return await handler(request)


def create_app(
    settings: config.Settings,
    *,
    clock: clock_mod.Clock | None = None,
    metrics: metrics_mod.Metrics | None = None,
) -> web.Application:
    """Routes and middlewares; the store, engine and sender the handlers use are set on the app by the daemon."""
    app = web.Application(client_max_size=MAX_BODY, middlewares=[errors, readable_forms, api.require_token])
    app[keys.SETTINGS] = settings
    app[keys.CLOCK] = clock or clock_mod.SystemClock()
    app[keys.METRICS] = metrics or metrics_mod.Metrics()
    app.add_routes(
        [*health.routes(), *ingest.routes(), *api.routes(), *ackpage.routes(), *twilio_sms.routes(), *openapi.routes()]
    )
    app.add_routes([*practice.routes(), *statuspage.routes()])  # issue 12: running the incident
    app.add_routes([*twilio_voice.routes(), *slack_interactive.routes(), *channel_status.routes()])  # issue 16
    app.add_routes(learning.routes())
    # issue 14: more ways in, and alert hygiene
    app.add_routes([*webhooks.routes(), *changes.routes(), *heartbeats.routes(), *maintenance.routes()])
    app[keys.MAINTENANCE_CACHE] = maintenance.Cache()
    ui.setup(app)
    return app
