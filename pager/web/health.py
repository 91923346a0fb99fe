"""Liveness, readiness and the Prometheus scrape."""

from __future__ import annotations

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


async def metrics(request: web.Request) -> web.Response:
    m = request.app[keys.METRICS]
    try:
        counts = await request.app[keys.STORE].open_counts()
    except db.Unavailable:
        log.warning("incidents_open not refreshed: database unavailable")
    else:
        m.incidents_open.clear()
        for service, priority, state, n in counts:
            m.incidents_open.labels(service, priority.name, state).set(n)
    return web.Response(body=m.exposition(), headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


def routes() -> typing.Iterable[web.AbstractRouteDef]:
    return [web.get("/healthz", healthz), web.get("/readyz", readyz), web.get("/metrics", metrics)]
