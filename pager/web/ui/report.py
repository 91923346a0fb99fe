"""/reports: the incident report (GET /api/v1/reports/incidents) as tables, with its picture, for a chosen
period and service. The picture is the report's own SVG (matplotlib, the `reports` extra); without
matplotlib the page says so and the tables stand alone."""

from __future__ import annotations

import typing

from aiohttp import web

from pager import report_picture, reporting, reports
from pager.web import keys
from pager.web.ui import pages, render, viewer, views

PERIODS = (("7d", "7 days"), ("30d", "30 days"), ("90d", "90 days"), ("365d", "a year"))
DEFAULT = "30d"


def _chosen(request: web.Request) -> tuple[str, str | None, str]:
    """(since as asked, service or None, what was wrong with the query): an unknown service means all."""
    q = request.query
    since = (q.get("since") or DEFAULT).strip()
    error = ""
    try:
        reports.parse_since(since)
    except ValueError as exc:
        error, since = f"Period {since!r}: {exc}. Showing the last {DEFAULT}.", DEFAULT
    service = q.get("service") or None
    if service is not None and request.app[keys.SETTINGS].config.service(service) is None:
        service = None
    return since, service, error


async def _report(request: web.Request, since: str, service: str | None) -> dict[str, typing.Any]:
    app = request.app
    return await reporting.report(
        app[keys.REPORTS], app[keys.SETTINGS].config, reports.parse_since(since), app[keys.CLOCK].now(), service
    )


@viewer.page
async def page(request: web.Request, visit: viewer.Visit) -> web.Response:
    since, service, error = _chosen(request)
    ctx = pages.context(request, visit.viewer)
    data = await _report(request, since, service)
    ok, why = report_picture.available()
    periods = list(PERIODS)
    if since not in dict(periods):
        periods.append((since, since))
    return pages.show(
        request,
        visit,
        "reports.html",
        {
            "title": "Reports",
            "r": views.report_view(ctx, data),
            "since": since,
            "service": service or "",
            "periods": periods,
            "services": [(s.id, s.name or s.id) for s in ctx.cfg.services],
            "picture": render.url(request, "/reports/incidents.svg", since=since, service=service) if ok else "",
            "no_picture": "" if ok else why,
            "api": render.url(request, "/api/v1/reports/incidents", since=since, service=service),
            "error": error,
        },
        400 if error else 200,
    )


@viewer.resource
async def picture(request: web.Request, visit: viewer.Visit) -> web.Response:
    """The report's picture, for the page's <img> (the API's needs a bearer token, a browser has a session)."""
    ok, why = report_picture.available()
    if not ok:
        return web.Response(status=501, text=f"The picture is not available: {why}", headers=render.HEADERS)
    since, service, _ = _chosen(request)
    svg = await reporting.picture(await _report(request, since, service), "svg")
    return web.Response(body=svg, content_type="image/svg+xml", headers=render.HEADERS)
