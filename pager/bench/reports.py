"""`pager bench-reports`: how long the incident report's queries take over a big history.

A throwaway embedded PostgreSQL (or --database-url, a database to fill) gets
N synthetic incidents with their alerts, events and pages, in a window of its
own choosing (the report's 30 days holding all of them is the worst case); then
each of the report's queries, the whole report and its picture are timed, each
run several times, median and slowest shown. Measured, never asserted.
"""

from __future__ import annotations

import asyncio
import datetime
import pathlib
import statistics
import tempfile
import time
import typing

from pager import config, report_picture, reporting, reports
from pager.store import db, embedded, migrate, sql
from pager.store import reports as reports_store

UNTIL = datetime.datetime(2026, 11, 23, tzinfo=datetime.UTC)
CHANGE_EVERY = datetime.timedelta(hours=6)  # a deploy per service four times a day


def _config() -> config.Config:
    users = [{"id": f"user-{i}", "time_zone": ["UTC", "Europe/Berlin", "America/New_York"][i % 3]} for i in range(12)]
    return config.parse(
        {
            "users": users,
            "rotations": [{"id": "r", "members": [u["id"] for u in users[:6]]}],
            "escalation_policies": [{"id": "p", "steps": [{"targets": ["rotation:r"]}]}],
            "services": [
                {"id": f"svc-{i}", "escalation_policy": "p", **({"time_zone": "Europe/Berlin"} if i % 2 else {})}
                for i in range(8)
            ],
        }
    )


async def _timed(fn: typing.Callable[[], typing.Awaitable[typing.Any]], runs: int) -> tuple[float, float]:
    seconds = []
    for _ in range(runs):
        t = time.perf_counter()
        await fn()
        seconds.append(time.perf_counter() - t)
    return statistics.median(seconds), max(seconds)


async def measure(url: str, incidents: int, span: datetime.timedelta, runs: int, out: typing.TextIO) -> dict:
    conn = await db.connect(url)
    try:
        await migrate.apply(conn)
        t = time.perf_counter()
        await conn.execute("TRUNCATE incidents, changes CASCADE")
        await conn.fetchval(sql.QUERIES["report_bench_seed"], incidents, UNTIL, span)
        await conn.execute(sql.QUERIES["report_bench_changes"], UNTIL, span, CHANGE_EVERY)
        seeded = time.perf_counter() - t
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    pool = await db.create_pool(url)
    try:
        cfg = _config()
        store = reports_store.Reports(pool)
        since = datetime.timedelta(days=30)
        p = reports.period(since, UNTIL)
        q = reports_store.Query(
            p.start, p.until, p.previous, None, reports.service_zones(cfg), reports.user_zones(cfg), p.bucket
        )
        window, changed = await pool.fetchrow(sql.QUERIES["report_bench_counts"], p.start, UNTIL)
        print(
            f"{incidents:,} incidents over {span.days}d ({window:,} in the report's 30 days) and {changed:,} changes,"
            f" seeded in {seeded:.1f}s",
            file=out,
        )
        figures: dict[str, tuple[float, float]] = {}
        zs = (list(q.service_zones), list(q.service_zones.values()))
        zu = (list(q.user_zones), list(q.user_zones.values()))
        w = (q.start, q.until, None)
        Q = sql.QUERIES
        calls = {
            "report_response": (q.start, q.until, q.previous, None),
            "report_hour_of_week": (*w, *zs),
            "report_trend": (*w, q.bucket),
            "report_noisy": (*w, 10),
            "report_pages": (*w, *zu),
            "report_holding": w,
            "report_drills": w,
            "report_after_change": (*w, q.previous, q.after_change),
            "report_changes": (*w, q.after_change),
            "report_changes_recorded": (q.until, None),
        }

        async def one(name: str, args: tuple) -> None:
            async with pool.acquire() as conn, conn.transaction(readonly=True):
                await conn.execute(Q["report_memory"])
                await conn.fetch(Q[name], *args)

        for name, args in calls.items():
            figures[name] = await _timed(lambda name=name, args=args: one(name, args), runs)
        figures["whole report (one snapshot + on-call hours + JSON)"] = await _timed(
            lambda: reporting.report(store, cfg, since, UNTIL), runs
        )
        data = await reporting.report(store, cfg, since, UNTIL)
        if report_picture.available()[0]:
            figures["picture (SVG)"] = await _timed(lambda: reporting.picture(data, "svg"), runs)
        for name, (median, slowest) in figures.items():
            print(f"  {name:<52} median {median * 1000:8.1f} ms   slowest {slowest * 1000:8.1f} ms", file=out)
        return {"incidents": incidents, "in_window": window, "figures": figures, "report": data}
    finally:
        await pool.close()


def main(
    incidents: int, span_days: int, runs: int, database_url: str | None, out: typing.TextIO, keep: str | None = None
) -> int:
    span = datetime.timedelta(days=span_days)

    async def go(url: str) -> None:
        result = await measure(url, incidents, span, runs, out)
        if keep:
            path = pathlib.Path(keep)
            path.mkdir(parents=True, exist_ok=True)
            (path / "report.txt").write_text(reports.render(result["report"]))
            if report_picture.available()[0]:
                (path / "incidents.svg").write_bytes(report_picture.render(result["report"], "svg"))
                (path / "incidents.png").write_bytes(report_picture.render(result["report"], "png"))

    if database_url:
        asyncio.run(go(database_url))
        return 0
    with tempfile.TemporaryDirectory(prefix="pager-bench-reports-") as tmp:
        server = embedded.Embedded(pathlib.Path(tmp), delete_on_stop=True)
        try:
            asyncio.run(embedded.ensure_database(server.url, "bench"))
            asyncio.run(go(server.url_for("bench")))
        finally:
            server.stop()
    return 0
