"""The report's one I/O path, shared by the API, its picture and the monthly digest: load, then build.

The store aggregates in PostgreSQL; `pager.reports` (pure) assembles the JSON and
renders text; `pager.report_picture` draws it. The picture is drawn in a worker
thread, so a big figure never stalls the event loop (and so never a page).
"""

from __future__ import annotations

import asyncio
import datetime
import typing

from pager import config, report_picture, reports
from pager.store import reports as reports_store


async def report(
    store: reports_store.Reports,
    cfg: config.Config,
    since: datetime.timedelta,
    until: datetime.datetime,
    service: str | None = None,
    *,
    picture_url: str | None = None,
) -> dict[str, typing.Any]:
    p = reports.period(since, until)
    rows = await store.load(
        reports_store.Query(
            p.start,
            p.until,
            p.previous,
            service,
            reports.service_zones(cfg),
            reports.user_zones(cfg),
            p.bucket,
        )
    )
    ok, why = report_picture.available()
    picture = {"available": True, "svg": picture_url} if ok else {"available": False, "why": why}
    return reports.build(p, rows, cfg, service=service, oncall=reports.oncall_hours(cfg, p, service), picture=picture)


async def picture(data: typing.Mapping[str, typing.Any], fmt: str = "svg") -> bytes:
    return await asyncio.to_thread(report_picture.render, data, fmt)
