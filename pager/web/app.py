"""The aiohttp application factory: routes, middlewares, and the database pool on cleanup_ctx."""

from __future__ import annotations

import contextlib
import typing

import structlog
import tenacity
from aiohttp import web

from pager import clock as clock_mod
from pager import config, outbox, wakeup
from pager import engine as engine_mod
from pager import metrics as metrics_mod
from pager.store import acks, db, escalations, migrate, store
from pager.store import outbox as outbox_store
from pager.web import ackpage, api, health, ingest, jsonout, keys, openapi, twilio_sms

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


async def wait_for_database(url: str) -> None:
    """Apply migrations, retrying while the database is not up yet."""
    async for attempt in tenacity.AsyncRetrying(
        retry=tenacity.retry_if_exception_type((db.Unavailable, OSError)),
        wait=tenacity.wait_exponential(multiplier=0.2, max=5),
        before_sleep=lambda rs: log.warning(
            "waiting for the database",
            attempt=rs.attempt_number,
            error=str(rs.outcome.exception()) if rs.outcome else None,
        ),
    ):
        with attempt:
            with db.translate_errors():
                conn = await db.connect(url)
            try:
                await migrate.apply(conn)
            finally:
                await conn.close()


def create_app(
    settings: config.Settings,
    *,
    database_url: str,
    clock: clock_mod.Clock | None = None,
    metrics: metrics_mod.Metrics | None = None,
    run_engine: bool = True,
) -> web.Application:
    """The whole daemon as one app; `run_engine=False` serves HTTP only (tests that drive engine and sender by hand)."""
    app = web.Application(client_max_size=MAX_BODY, middlewares=[errors, api.require_token])
    app[keys.SETTINGS] = settings
    app[keys.CLOCK] = clock or clock_mod.SystemClock()
    app[keys.METRICS] = metrics or metrics_mod.Metrics()

    async def database(app: web.Application) -> typing.AsyncIterator[None]:
        await wait_for_database(database_url)
        pool = await db.create_pool(
            database_url, min_size=settings.config.database.pool_min, max_size=settings.config.database.pool_max
        )
        app[keys.STORE] = store.Store(pool, on_transition=app[keys.METRICS].observe_transition)
        app[keys.ACKS] = acks.Acks(pool)
        sender = outbox.Sender(
            settings,
            outbox_store.Outbox(pool),
            app[keys.ACKS],
            app[keys.CLOCK],
            app[keys.METRICS],
            outbox.build_notifiers(settings),
        )
        engine = engine_mod.Engine(
            settings, escalations.Escalations(pool), app[keys.CLOCK], app[keys.METRICS], on_pages=sender.wake
        )
        app[keys.ENGINE], app[keys.SENDER] = engine, sender
        wake = {"pager_incidents": engine.wake, "pager_outbox": sender.wake}
        listener = db.Listener(
            database_url, list(wake), lambda channel: wake[channel](), on_state=app[keys.METRICS].listener_state
        )
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(sender.aclose)
            if run_engine:
                listener.start()
                stack.push_async_callback(listener.stop)
                await stack.enter_async_context(wakeup.running(engine.run(), "pager-engine"))
                await stack.enter_async_context(wakeup.running(sender.run(), "pager-sender"))
            yield
        await pool.close()

    app.cleanup_ctx.append(database)
    app.add_routes(
        [*health.routes(), *ingest.routes(), *api.routes(), *ackpage.routes(), *twilio_sms.routes(), *openapi.routes()]
    )
    return app
