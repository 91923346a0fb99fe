"""Liveness, readiness and the Prometheus scrape."""

from __future__ import annotations

import datetime
import typing

import structlog
from aiohttp import web

from pager.store import db
from pager.web import jsonout, keys

log = structlog.get_logger(__name__)


async def healthz(request: web.Request) -> web.Response:
    return jsonout.response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    try:
        await request.app[keys.STORE].ping()
    except db.Unavailable as exc:
        return jsonout.error(503, "database unreachable", detail=str(exc))
    return jsonout.response({"status": "ready"})


RESPONSE_TIMES_TTL = datetime.timedelta(seconds=60)


async def metrics(request: web.Request) -> web.Response:
    """The scrape refreshes the figures read from the database; MTTA/MTTR at most once a minute."""
    app = request.app
    m, st = app[keys.METRICS], app[keys.STORE]
    now = app[keys.CLOCK].now()
    try:
        counts = await st.open_counts()
        m.incidents_open.clear()
        for service, priority, state, n in counts:
            m.incidents_open.labels(service, priority.name, state).set(n)
        last = m.response_times_at
        m.postmortems_overdue.set(await app[keys.POSTMORTEMS].overdue())
        if last is None or now - last >= RESPONSE_TIMES_TTL or now < last:
            m.set_response_times(await st.response_times(now))
            m.response_times_at = now
    except db.Unavailable:
        log.warning("database figures not refreshed: database unavailable")
    return web.Response(body=m.exposition(), headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


def routes() -> typing.Iterable[web.AbstractRouteDef]:
    return [web.get("/healthz", healthz), web.get("/readyz", readyz), web.get("/metrics", metrics)]
