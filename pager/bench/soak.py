"""`pager bench --soak 30m`: a long run at half the measured capacity, RSS and p99 reported every minute.

First the single-event ingest capacity is measured as the `events` phase measures it (closed loop,
`--events-concurrency` in flight, `--duration`), unless `--soak-rate` gives the rate. Then, for the
soak's duration, Events v2 requests arrive on a fixed schedule at half that, shaped like a day's
alert stream: of every ten, one trigger opens (and pages) an incident, eight repeat the triggers of
incidents still open (monitoring re-sends what keeps firing; a repeat changes nothing but
last-seen) and one resolves the incident opened a minute before, so open incidents and pages stay
level. (Opening and paging a new incident with every request at half capacity is a storm, whose
pages to one person fall behind: the storm phase's to measure, not a day.) Five times a second an
Alertmanager webhook opens an incident that pages a person of its own, for the alert → page
latency. Every
interval (a minute) the daemon's RSS and the p99 of both latencies are printed and kept: both must
stay flat, so the summary gives the first and the last interval side by side.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
import time
import typing

from pager.bench import load, setup

RESOLVE_AFTER = 60.0  # seconds each soak incident stays open before its resolve arrives
CYCLE = 10  # of every ten events: one opens an incident, eight repeat open ones, one resolves
PAGE_SAMPLES_PER_S = 5.0


def _log(text: str) -> None:
    print(f"pager bench: {text}", file=sys.stderr, flush=True)


def _rss_mb(pid: int | None) -> float | None:
    if pid is None:
        return None
    import psutil

    try:
        daemon = psutil.Process(pid)
        rss = daemon.memory_info().rss
        for child in daemon.children(recursive=True):  # its urgent lane's process
            try:
                rss += child.memory_info().rss
            except psutil.Error:
                continue
        return round(rss / (1024 * 1024), 1)
    except psutil.Error:
        return None


@dataclasses.dataclass
class _Interval:
    started: float
    latencies: list[float] = dataclasses.field(default_factory=list)
    pages: list[float] = dataclasses.field(default_factory=list)
    errors: dict[str, int] = dataclasses.field(default_factory=dict)


def _resolve_body(routing_key: str, marker: str = "@@KEY@@") -> typing.Callable[[str], bytes]:
    head, _, tail = json.dumps(
        {"routing_key": routing_key, "event_action": "resolve", "dedup_key": marker}, separators=(",", ":")
    ).partition(marker)

    def make(value: str) -> bytes:
        return (head + value + tail).encode()

    return make


async def _capacity(bench: typing.Any) -> tuple[float, dict[str, typing.Any]]:
    """Single-event ingest capacity, measured as the events phase measures it."""
    o, d = bench.o, bench.d
    body = load.events_body(d.events_key, {"bench": "events"})
    prefix = f"bench-soakcap-{bench.run_id}-"
    run = await load.closed_loop(
        bench.session,
        f"{d.url}/v2/enqueue",
        {"Content-Type": "application/json"},
        lambda i: body(f"{prefix}{i}"),
        concurrency=o.events_concurrency,
        duration=o.duration,
        warmup=o.warmup,
    )
    return run.throughput(), {"capacity_p99_ms": load.summary_ms(run.latencies())["p99_ms"], "errors": run.errors}


async def run(bench: typing.Any) -> dict[str, typing.Any]:
    o, d = bench.o, bench.d
    if not o.soak:
        return {"status": "skipped", "reason": "give the soak's length: --soak 30m"}
    soak = float(o.soak)
    measured: dict[str, typing.Any] = {}
    if o.soak_rate:
        capacity, rate = None, float(o.soak_rate)
    else:
        _log(f"soak: measuring capacity ({o.duration:g}s of single events, {o.events_concurrency} in flight) …")
        capacity, measured = await _capacity(bench)
        rate = max(1.0, capacity / 2)
        # Every event of the measurement opened an incident that is paged: the soak starts once they are
        # (it began with half a minute of that backlog, 30 s requests and a grown heap, otherwise).
        measured["capacity_drain_s"] = await bench.drained()
        if d.bench_db is not None:
            await d.bench_db.vacuum()
    interval = o.soak_interval if soak >= 3 * o.soak_interval else max(soak / 3, 0.5)
    _log(
        f"soak: {rate:,.0f} events/s ({'given' if capacity is None else f'half of {capacity:,.0f}'}) for "
        f"{soak:g}s, figures every {interval:g}s"
    )
    headers = {"Content-Type": "application/json"}
    url = f"{d.url}/v2/enqueue"
    prefix = f"bench-soak-{bench.run_id}-"
    trigger = load.events_body(d.events_key, {"bench": "events"})
    resolve = _resolve_body(d.events_key)
    hold = max(1, int(rate / CYCLE * RESOLVE_AFTER))  # incidents opened per RESOLVE_AFTER
    current = _Interval(time.perf_counter())
    rows: list[dict[str, typing.Any]] = []
    t0 = time.perf_counter()

    def count(s: load.Sample) -> None:
        if 200 <= s.status < 300:
            current.latencies.append(s.end - s.start)
        else:
            key = f"HTTP {s.status}" if s.status else "connection error"
            current.errors[key] = current.errors.get(key, 0) + 1

    async def event(i: int) -> None:
        n, step = divmod(i, CYCLE)
        if step == 0:
            body = trigger(f"{prefix}{n}")
        elif step == CYCLE - 1:
            body = resolve(f"{prefix}{n - hold}" if n >= hold else f"{prefix}none-{n}")
        else:  # a repeat of one still open: opened in the last RESOLVE_AFTER, not yet resolved
            body = trigger(f"{prefix}{n - (i * 7919) % min(n + 1, hold)}")
        count(await load.post(bench.session, url, body, headers))

    waiting: dict[int, float] = {}
    unsubscribe = None
    if d.sink is not None:

        def arrived(arrival: typing.Any) -> None:
            for number in arrival.incident_numbers():
                sent = waiting.pop(number, None)
                if sent is not None:
                    current.pages.append(arrival.at - sent)

        unsubscribe = d.sink.subscribe(arrived)
    am_headers = {"Authorization": f"Bearer {d.am_token}", "Content-Type": "application/json"}
    page_bodies = [
        load.alertmanager_body(
            [{"alertname": "BenchSoak", "page": str(k), "severity": "critical", "instance": "db-1:9100"}],
            f'{{}}:{{alertname="BenchSoak",run="{bench.run_id}",n="@@KEY@@"}}',
        )
        for k in range(setup.PAGE_USERS)
    ]

    async def sample(i: int) -> None:
        s = await load.post(
            bench.session,
            f"{d.url}/v1/webhooks/alertmanager",
            page_bodies[i % len(page_bodies)](f"soak-{i}"),
            am_headers,
            keep_body=True,
        )
        if 200 <= s.status < 300:
            for incident in json.loads(s.body)["incidents"]:
                if incident["created"] and incident["id"] is not None:
                    waiting[int(incident["id"])] = s.start

    async def report(final: bool = False) -> None:
        nonlocal current
        done, current = current, _Interval(time.perf_counter())
        lat = load.summary_ms(sorted(done.latencies))
        pages = load.summary_ms(sorted(done.pages))
        row = {
            "at_s": round(time.perf_counter() - t0, 1),
            "events_per_s": round(len(done.latencies) / max(time.perf_counter() - done.started, 1e-9), 1),
            "p50_ms": lat["p50_ms"],
            "p99_ms": lat["p99_ms"],
            "max_ms": lat["max_ms"],
            "pages": len(done.pages),
            "page_p99_ms": pages["p99_ms"],
            "rss_mb": _rss_mb(d.pid),
            "errors": done.errors,
            "partial": final,
        }
        if d.bench_db is not None:
            row["open_incidents"] = await d.bench_db.open_incidents()
        rows.append(row)
        _log(
            f"soak {row['at_s']:>7.0f}s: {row['events_per_s']:,.0f} events/s, p99 {row['p99_ms']} ms, "
            f"page p99 {row['page_p99_ms']} ms ({row['pages']} pages), RSS {row['rss_mb']} MB"
            + (f", {row['open_incidents']:,} open" if "open_incidents" in row else "")
            + (f", errors {row['errors']}" if row["errors"] else "")
        )

    async def reporter() -> None:
        k = 1
        while k * interval <= soak + 1e-6:  # the drain after the soak is the final, partial interval
            await asyncio.sleep(max(0.0, t0 + k * interval - time.perf_counter()))
            await report()
            k += 1

    ticker = asyncio.ensure_future(reporter())
    try:
        lag, _ = await asyncio.gather(
            load.open_loop(rate, int(rate * soak), event),
            load.open_loop(PAGE_SAMPLES_PER_S, int(PAGE_SAMPLES_PER_S * soak), sample),
        )
        await asyncio.sleep(1.0)  # the last pages' way to the sink
    finally:
        ticker.cancel()
        if unsubscribe is not None:
            unsubscribe()
    if current.latencies and time.perf_counter() - current.started >= interval / 2:
        await report(final=True)
    full = [r for r in rows if not r["partial"]] or rows
    first, last = (full[0], full[-1]) if full else ({}, {})

    def pick(r: dict[str, typing.Any]) -> dict[str, typing.Any]:
        return {k: r.get(k) for k in ("at_s", "rss_mb", "p99_ms", "page_p99_ms", "events_per_s")}

    return {
        "capacity_events_per_s": None if capacity is None else round(capacity, 1),
        **measured,
        "rate_per_s": round(rate, 1),
        "duration_s": soak,
        "interval_s": interval,
        "resolve_after_s": RESOLVE_AFTER,
        "schedule_lag_ms": round(lag * 1000, 1),
        "intervals": rows,
        "start": pick(first),
        "end": pick(last),
        "rss_growth_mb": (
            round(last["rss_mb"] - first["rss_mb"], 1) if first.get("rss_mb") and last.get("rss_mb") else None
        ),
        "unpaged": len(waiting),
        "errors": {k: sum(r["errors"].get(k, 0) for r in rows) for r in rows for k in r["errors"]},
    }


def rows_for_table(r: dict[str, typing.Any]) -> list[tuple[str, str, str]]:
    s, e = r["start"], r["end"]
    return [
        ("", f"{r['rate_per_s']:,.0f} events/s for {r['duration_s']:g}s ({len(r['intervals'])} intervals)", ""),
        ("first → last RSS: ", f"{s.get('rss_mb')} → {e.get('rss_mb')} MB", ""),
        (
            "first → last p99: ",
            f"{s.get('p99_ms')} → {e.get('p99_ms')} ms (page {s.get('page_p99_ms')} → {e.get('page_p99_ms')} ms)",
            "",
        ),
    ]
