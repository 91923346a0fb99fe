"""`pager run`, and the composition root: database, store, engine, sender, listener and the HTTP app.

Everything the daemon is made of is wired here and nowhere else: `create_app`
gives the whole daemon as one aiohttp application (tests drive it through
`aiohttp_client`), `run` serves it, with an embedded PostgreSQL when no
database is configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import typing

import structlog
import tenacity
from aiohttp import web

from pager import clock as clock_mod
from pager import config, digest, mailer, notify, urgent
from pager import engine as engine_mod
from pager import lanes as lanes_mod
from pager import metrics as metrics_mod
from pager import sender as sender_mod
from pager.engine import ack_expiry
from pager.sender import outbound as outbound_mod
from pager.sender import stakeholder_mail as stakeholder_sender
from pager.store import (
    acks,
    changes,
    db,
    deliveries,
    embedded,
    escalations,
    heartbeats,
    maintenance,
    migrate,
    optouts,
    stakeholder_mail,
    store,
)
from pager.store import actions as actions_store
from pager.store import drills as drills_store
from pager.store import notices as notices_store
from pager.store import outbox as outbox_store
from pager.store import postmortems as postmortems_store
from pager.store import reports as reports_store
from pager.web import app as web_app
from pager.web import keys, ui

log = structlog.get_logger(__name__)

EMBEDDED_DATABASE = "pager"


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
        with attempt, db.translate_errors():  # a connection lost mid-migration is waited out too
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
    urgent_worker: bool = False,
) -> web.Application:
    """The whole daemon as one app; `run_engine=False` serves HTTP only (tests that drive engine and sender by hand).

    `urgent_worker` (what `pager run` does) works the P0/P1 lane in a process of its own (`pager.urgent`), on
    the system clock; without it every lane runs in this process, on `clock`.
    """
    app = web_app.create_app(settings, clock=clock, metrics=metrics)
    clock, metrics = app[keys.CLOCK], app[keys.METRICS]

    async def parts(app: web.Application) -> typing.AsyncIterator[None]:
        await wait_for_database(database_url)
        cfg = settings.config
        pool = await db.create_pool(database_url, min_size=cfg.database.pool_min, max_size=cfg.database.pool_max)
        notifiers = notify.build(settings)
        sender = sender_mod.Sender(settings, outbox_store.Outbox(pool), clock, metrics, notifiers)
        told = stakeholder_sender.StakeholderMail(settings, stakeholder_mail.Queue(pool), clock, metrics, notifiers)
        outbound = outbound_mod.Outbound(
            settings, deliveries.Deliveries(pool), clock, metrics, outbound_mod.posters(settings, notifiers, clock)
        )
        await outbound.start()

        engine = engine_mod.Engine(
            settings,
            escalations.Escalations(pool),
            clock,
            metrics,
            on_pages=sender.wake,
            on_stakeholder_mail=told.wake,
        )

        def transitioned(t: store.Transition) -> None:
            metrics.observe_transition(t)
            outbound.wake()

        live = ui.hub(app)  # the web UI's event streams
        fast = urgent.UrgentWorker(settings, database_url, metrics) if run_engine and urgent_worker else None

        def changed(payload: str = "") -> None:
            """Incidents opened (or given work now) by any replica: `payload` names the lane (pager.lanes)."""
            engine.wake(payload)
            outbound.wake()
            live.publish()

        def opened(payload: str = "") -> None:
            """... by this one, just committed: the urgent worker hears at once, not by NOTIFY."""
            changed(payload)
            if fast is not None and "urgent" in lanes_mod.named(payload):
                fast.wake()

        # The replica that commits a new incident wakes its own engine at once; LISTEN/NOTIFY tells the others.
        app[keys.STORE] = store.Store(
            pool,
            on_transition=transitioned,
            on_opened=opened,
            on_acknowledged=lambda incident, priority, now: ack_expiry.arm(incident, priority, cfg, now),
            names=_person(cfg),
        )
        app[keys.ACKS] = acks.Acks(pool)
        app[keys.OPTOUTS] = optouts.OptOuts(pool)
        app[keys.CHANGES] = changes.Changes(pool)
        app[keys.HEARTBEATS] = heartbeats.Heartbeats(pool)
        app[keys.MAINTENANCE] = maintenance.Maintenance(pool)
        await app[keys.HEARTBEATS].register(settings.heartbeats(), clock.now())
        app[keys.ENGINE], app[keys.SENDER], app[keys.OUTBOUND] = engine, sender, outbound
        app[keys.STAKEHOLDER_MAIL] = told
        # learning from incidents: post-mortems, action items, drills, reports, and the mail that is not a page
        app[keys.POSTMORTEMS], app[keys.ACTIONS] = postmortems_store.Postmortems(pool), actions_store.Actions(pool)
        app[keys.DRILLS] = drills_store.Drills(pool, on_opened=opened)
        app[keys.REPORTS] = reports_store.Reports(pool)
        mail = mailer.Mailer(
            settings, notices_store.Notices(pool), clock, {"digest": digest.renderer(app[keys.REPORTS], settings)}
        )
        app[keys.MAILER] = mail
        await app[keys.DRILLS].arm_missing(engine.kept_timers(clock.now()))
        wake: dict[str, typing.Callable[[str], None]] = {
            "pager_incidents": changed,
            "pager_outbox": sender.wake,
            "pager_notices": mail.wake,
            "pager_stakeholder_mail": told.wake,
            "pager_outbound": outbound.wake,
        }
        listener = db.Listener(
            database_url, list(wake), lambda channel, payload: wake[channel](payload), on_state=metrics.listener_state
        )
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(sender.aclose)
            stack.push_async_callback(outbound.aclose)
            stack.push_async_callback(mail.aclose)
            if run_engine:
                listener.start()
                stack.push_async_callback(listener.stop)
                here: list[asyncio.Task[None]] = []
                stack.push_async_callback(_cancel, here)

                def work_here(lanes: tuple[str, ...]) -> None:
                    here.append(asyncio.create_task(engine.run(lanes), name=f"pager-engine:{','.join(lanes)}"))
                    here.append(asyncio.create_task(sender.run(lanes), name=f"pager-sender:{','.join(lanes)}"))

                others = tuple(lane for lane in lanes_mod.LANES if lane not in urgent.LANE)
                if fast is not None:
                    await fast.start(on_lost=lambda: work_here(urgent.LANE))
                    stack.push_async_callback(fast.stop)
                    work_here(others)
                else:
                    work_here(urgent.LANE + others)
                for name, loop in (("outbound", outbound.run), ("mailer", mail.run), ("stakeholder-mail", told.run)):
                    here.append(asyncio.create_task(loop(), name=f"pager-{name}"))
            yield
        await pool.close()

    app.cleanup_ctx.append(parts)
    return app


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _person(cfg: config.Config) -> typing.Callable[[str], str | None]:
    """user id → their name; None for whatever is not a configured user ('api', an integration)."""

    def name(user_id: str) -> str | None:
        user = cfg.user(user_id)
        return user.display_name if user else None

    return name


@contextlib.contextmanager
def database(settings: config.Settings) -> typing.Iterator[str]:
    """The configured database URL, or an embedded server's under data_dir for as long as the block runs."""
    if settings.secrets.database_url:
        yield settings.secrets.database_url
        return
    log.info("no database configured; starting embedded PostgreSQL", data_dir=str(settings.config.data_dir))
    server = embedded.Embedded(settings.config.data_dir)
    try:
        asyncio.run(embedded.ensure_database(server.url, EMBEDDED_DATABASE))
        yield server.url_for(EMBEDDED_DATABASE)
    finally:
        log.info("stopping embedded PostgreSQL")
        server.stop()


def _install_uvloop() -> None:
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def run(settings: config.Settings) -> None:
    for warning in settings.warnings:
        log.warning(warning)
    _install_uvloop()
    server = settings.config.server
    with database(settings) as url:
        app = create_app(settings, database_url=url, urgent_worker=True)
        # Everything loaded so far lives as long as the process: keep it out of the collector's
        # full passes, which otherwise stalled pages in flight for ~40 ms (gen-2 pauses, measured).
        gc.freeze()
        log.info("pager starting", listen=server.listen, public_url=server.base_url())
        web.run_app(
            app,
            host=server.host,
            port=server.port,
            print=None,
            access_log=None,
            shutdown_timeout=10,
            handle_signals=True,
        )
    log.info("pager stopped")
