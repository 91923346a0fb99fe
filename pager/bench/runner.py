"""`pager bench`: the phases, the figures, the targets, the table and the JSON summary."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import importlib.metadata
import itertools
import json
import os
import platform
import re
import secrets
import sys
import time
import typing

import aiohttp

from pager.bench import alertmanager, load, setup, smtp_sink, soak, takeover, twilio_sink
from pager.bench import voice as voice_phase

PHASES = ("ingest", "events", "page", "storm", "lateness", "rss", "voice")
OPTIONAL = ("takeover", "soak", "vs_alertmanager")  # only when asked: --only takeover, --soak, --vs-alertmanager
ALL_PHASES = PHASES + OPTIONAL
SCHEMA = 1
BUSY_MACHINE_PCT = 25.0
"""Above this share of a core used by other processes during a phase, the table warns that figures are disturbed."""

AM_ALERTS = 100  # alerts per batched Alertmanager webhook
VS_CONCURRENCY = (8, 64)  # requests in flight for the side-by-side runs against Alertmanager


@dataclasses.dataclass(frozen=True)
class Target:
    """One figure's target: `value op limit`."""

    phase: str
    figure: str
    name: str
    op: str  # ">=" or "<="
    limit: float
    unit: str

    def check(self, value: float | None) -> bool | None:
        if value is None:
            return None
        return value >= self.limit if self.op == ">=" else value <= self.limit


TARGETS = (
    Target("ingest", "alerts_per_s", "ingest, Alertmanager webhooks of 100 alerts", ">=", 20_000, "alerts/s"),
    Target("events", "events_per_s", "ingest, single Events v2 requests", ">=", 2_000, "events/s"),
    Target("page", "p99_ms", "alert → Twilio request, p99", "<=", 100, "ms"),
    Target("storm", "p99_ms", "P0 alert → Twilio request during a storm, p99", "<=", 50, "ms"),
    Target("lateness", "p99_ms", "escalation lateness (fired − due), p99", "<=", 250, "ms"),
    Target("rss", "rss_mb", "daemon RSS at open incidents", "<=", 200, "MB"),
    Target("vs_alertmanager", "batch_ratio_8", "100-alert batches, pager / Alertmanager, 8 in flight", ">=", 0.75, "×"),
    Target(
        "vs_alertmanager", "batch_ratio_64", "100-alert batches, pager / Alertmanager, 64 in flight", ">=", 0.75, "×"
    ),
    Target("vs_alertmanager", "single_ratio_8", "single events, pager / Alertmanager, 8 in flight", ">=", 0.5, "×"),
    Target("takeover", "takeover_ms", "takeover: steps due after kill -9 of a replica, worst page", "<=", 2000, "ms"),
)


@dataclasses.dataclass(frozen=True)
class Options:
    url: str | None = None
    am_token: str | None = None
    events_key: str | None = None
    database_url: str | None = None
    pid: int | None = None
    sink_listen: str | None = None
    json: bool = False
    quick: bool = False
    concurrency: int = 16  # batched webhooks in flight (ingest, rss)
    events_concurrency: int = 64  # single events in flight: many small senders
    duration: float = 10.0
    warmup: float = 2.0
    only: tuple[str, ...] = PHASES
    page_rate: float = 100.0
    page_duration: float = 30.0
    storm_share: float = 0.5  # the storm's rate as a share of the ingest capacity measured in the run
    probe_rate: float = 50.0  # P0 probes per second during the storm
    storm_email_fails: bool = False  # the SMTP sink refuses the storm's email: its pages fall back to SMS
    smtp_listen: str | None = None
    alertmanager: str | None = None  # the binary; None: Debian's, else one on PATH
    timers: int = 10_000
    timer_batch: int = 100
    open_window: float = 15.0
    late_ack_timeout: float = 30.0
    incidents: int = 100_000
    drain_timeout: float = 300.0
    pool_max: int | None = None
    keep: bool = False
    vacuum: bool = True
    soak: float | None = None  # seconds; the soak phase (pager/bench/soak.py)
    soak_rate: float | None = None  # events/s; default half the measured capacity
    soak_interval: float = 60.0

    @classmethod
    def quick_defaults(cls) -> dict[str, typing.Any]:
        return dict(
            duration=2.0,
            warmup=0.5,
            page_rate=50.0,
            page_duration=2.0,
            probe_rate=20.0,
            timers=300,
            timer_batch=50,
            open_window=1.0,
            late_ack_timeout=3.0,
            incidents=2_000,
            drain_timeout=30.0,
        )


def _log(text: str) -> None:
    print(f"pager bench: {text}", file=sys.stderr, flush=True)


# --- the daemon under test ------------------------------------------------------------------------------


@dataclasses.dataclass
class Daemon:
    url: str
    am_token: str
    events_key: str
    pid: int | None
    bench_db: typing.Any | None  # pager.store.bench.BenchStore when the database is reachable
    postgres_pid: int | None
    sink: twilio_sink.TwilioSink | None
    mode: str  # "embedded" or "url"
    database_url: str | None = None
    smtp: smtp_sink.SmtpSink | None = None


def _tree_status(pid: int) -> dict[str, int]:
    """`_proc_status` summed over the daemon and the processes it started (its urgent lane's)."""
    import psutil

    pids = [pid]
    try:
        pids += [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        pass
    total: dict[str, int] = {"processes": 0}
    for p in pids:
        try:
            status = _proc_status(p)
        except (OSError, psutil.Error):
            continue
        total["processes"] += 1
        for key, value in status.items():
            total[key] = total.get(key, 0) + value
    return total


def _proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process in bytes, from /proc (psutil where there is no /proc)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            out = {}
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out[key] = int(value.split()[0]) * 1024
            return out
    except OSError:
        import psutil

        info = psutil.Process(pid).memory_info()
        return {"VmRSS": info.rss}


class CpuMeter:
    """CPU seconds used by the daemon (with its urgent lane's process), PostgreSQL (postmaster and backends) and the bench itself."""

    def __init__(self, daemon_pid: int | None, postgres_pid: int | None, **others: int | None) -> None:
        import psutil

        self._psutil = psutil
        self._daemon = self._proc(daemon_pid)
        self._postgres = self._proc(postgres_pid)
        self._self = psutil.Process()
        self._others = {name: self._proc(pid) for name, pid in others.items()}

    def _proc(self, pid: int | None) -> typing.Any:
        if pid is None:
            return None
        try:
            return self._psutil.Process(pid)
        except self._psutil.Error:
            return None

    def _cpu(self, p: typing.Any, children: bool = False) -> float | None:
        if p is None:
            return None
        try:
            t = p.cpu_times()
            total = t.user + t.system
            if children:
                total += t.children_user + t.children_system
                for c in p.children():
                    with contextlib.suppress(self._psutil.Error):
                        ct = c.cpu_times()
                        total += ct.user + ct.system
            return total
        except self._psutil.Error:
            return None

    def _busy(self) -> float:
        t = self._psutil.cpu_times()
        return (
            sum(t)
            - t.idle
            - getattr(t, "iowait", 0.0)
            - getattr(t, "steal", 0.0)
            - getattr(t, "guest", 0.0)
            - getattr(t, "guest_nice", 0.0)
        )

    def snapshot(self) -> tuple[float, dict[str, float | None]]:
        return time.perf_counter(), {
            "daemon": self._cpu(self._daemon, children=True),  # with its urgent lane's process
            "postgres": self._cpu(self._postgres, children=True),
            "bench": self._cpu(self._self),
            **{name: self._cpu(p) for name, p in self._others.items()},
            "machine": self._busy(),
        }

    @staticmethod
    def share(
        a: tuple[float, dict[str, float | None]], b: tuple[float, dict[str, float | None]]
    ) -> dict[str, float | None]:
        """Percent of one core each used between two snapshots; `other` is what the rest of the machine used."""
        span = b[0] - a[0]
        used: dict[str, float | None] = {}
        for key, before in a[1].items():
            after = b[1][key]
            used[key] = None if before is None or after is None or span <= 0 else (after - before) / span * 100
        machine = used.pop("machine")
        if machine is not None:
            used["other"] = max(0.0, machine - sum(v for v in used.values() if v is not None))
        return {f"{k}_pct": None if v is None else round(v, 1) for k, v in used.items()}


async def _wait_idle(d: Daemon, timeout: float, settle: float = 0.3) -> float | None:
    """Seconds until the daemon has no due timer or page left (None: unknown without the database)."""
    start = time.perf_counter()
    if d.bench_db is None:
        await asyncio.sleep(min(2.0, timeout))
        return None
    quiet_since = None
    while True:
        backlog = await d.bench_db.backlog(datetime.datetime.now(datetime.UTC))
        now = time.perf_counter()
        if backlog.idle:
            quiet_since = quiet_since or now
            if now - quiet_since >= settle:
                return round(quiet_since - start, 2)
        else:
            quiet_since = None
        if now - start > timeout:
            _log(
                f"daemon still busy after {timeout:g}s ({backlog.due_timers} timers and "
                f"{backlog.due_pages} pages due); going on"
            )
            return None
        await asyncio.sleep(0.1)


async def _scrape(session: aiohttp.ClientSession, url: str) -> str:
    async with session.get(f"{url}/metrics") as r:
        return await r.text()


_BUCKET = re.compile(r'^pager_escalation_lateness_seconds_bucket\{le="([^"]+)"\} ([0-9.e+-]+)$', re.M)


def _histogram(text: str) -> list[tuple[float, float]]:
    return [(float("inf") if le == "+Inf" else float(le), float(n)) for le, n in _BUCKET.findall(text)]


def _histogram_quantile(before: list[tuple[float, float]], after: list[tuple[float, float]], q: float) -> float | None:
    """As Prometheus's histogram_quantile: linear inside the bucket that holds the q-th observation."""
    prev = dict(before)
    buckets = [(le, n - prev.get(le, 0.0)) for le, n in after]
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q / 100 * buckets[-1][1]
    lower, below = 0.0, 0.0
    for le, n in buckets:
        if n >= rank:
            if le == float("inf"):
                return lower
            return lower + (le - lower) * ((rank - below) / (n - below) if n > below else 1)
        lower, below = le, n
    return None


# --- phases ---------------------------------------------------------------------------------------------


class Bench:
    def __init__(self, options: Options, daemon: Daemon, session: aiohttp.ClientSession) -> None:
        self.o = options
        self.d = daemon
        self.session = session
        self.run_id = secrets.token_hex(3)
        self.cpu = CpuMeter(daemon.pid, daemon.postgres_pid)
        self.results: dict[str, dict[str, typing.Any]] = {}  # the phases run so far, by name
        self._am_headers = {"Authorization": f"Bearer {daemon.am_token}", "Content-Type": "application/json"}
        self._ev_headers = {"Content-Type": "application/json"}

    async def drained(self) -> float | None:
        """Wait until the daemon has paged and fired everything due: a measurement's backlog is not the next's load."""
        return await _wait_idle(self.d, self.o.drain_timeout)

    async def _measured(
        self,
        run: typing.Awaitable[load.Run],
        *,
        warmup: float | None = None,
        duration: float | None = None,
        cpu: CpuMeter | None = None,
    ) -> tuple[load.Run, dict[str, float | None]]:
        """Run a closed loop, metering CPU over its measurement window only."""
        meter = cpu or self.cpu
        task = asyncio.ensure_future(run)
        await asyncio.sleep(self.o.warmup if warmup is None else warmup)
        a = meter.snapshot()
        await asyncio.sleep(self.o.duration if duration is None else duration)
        b = meter.snapshot()
        return await task, CpuMeter.share(a, b)

    def _closed(
        self,
        url: str,
        headers: typing.Mapping[str, str],
        body: load.Body,
        concurrency: int,
        *,
        warmup: float | None = None,
        duration: float | None = None,
        cpu: CpuMeter | None = None,
    ) -> typing.Awaitable[tuple[load.Run, dict[str, float | None]]]:
        """The one closed loop every throughput figure comes from, pager's and Alertmanager's alike."""
        warmup = self.o.warmup if warmup is None else warmup
        duration = self.o.duration if duration is None else duration
        return self._measured(
            load.closed_loop(
                self.session, url, headers, body, concurrency=concurrency, duration=duration, warmup=warmup
            ),
            warmup=warmup,
            duration=duration,
            cpu=cpu,
        )

    def _ingest_body(self, tag: str = "") -> load.Body:
        """An Alertmanager webhook of 100 new alerts whose group (so incident) is new for every i."""
        alerts = [
            {
                "alertname": "BenchIngest",
                "bench": "ingest",
                "severity": "critical",
                "instance": f"host-{i:03d}:9100",
                "job": "node",
            }
            for i in range(AM_ALERTS)
        ]
        body = load.alertmanager_body(alerts, f'{{}}:{{alertname="BenchIngest",run="{self.run_id}{tag}",g="@@KEY@@"}}')
        return lambda i: body(str(i))

    def _events_body(self, tag: str = "") -> load.Body:
        """An Events v2 trigger whose dedup_key (so incident) is new for every i."""
        body = load.events_body(self.d.events_key, {"bench": "events"})
        prefix = f"bench-ev-{self.run_id}{tag}-"
        return lambda i: body(f"{prefix}{i}")

    async def ingest(self) -> dict[str, typing.Any]:
        """Alertmanager webhooks of 100 new alerts, each a new group (so a new incident), closed loop."""
        run, cpu = await self._closed(
            f"{self.d.url}/v1/webhooks/alertmanager", self._am_headers, self._ingest_body(), self.o.concurrency
        )
        drain = await _wait_idle(self.d, self.o.drain_timeout)
        return {
            "alerts_per_s": round(run.throughput(AM_ALERTS), 1),
            "requests_per_s": round(run.throughput(), 1),
            **load.summary_ms(run.latencies()),
            "alerts_per_request": AM_ALERTS,
            "requests": len(run.ok()),
            "errors": run.errors,
            "concurrency": self.o.concurrency,
            "duration_s": self.o.duration,
            "cpu": cpu,
            "cpu_us_per_alert": _per_item(cpu, run.throughput(AM_ALERTS)),
            "drain_s": drain,
        }

    async def events(self) -> dict[str, typing.Any]:
        """Single Events v2 triggers, each with a new dedup_key (so a new incident), closed loop."""
        run, cpu = await self._closed(
            f"{self.d.url}/v2/enqueue", self._ev_headers, self._events_body(), self.o.events_concurrency
        )
        drain = await _wait_idle(self.d, self.o.drain_timeout)
        return {
            "events_per_s": round(run.throughput(), 1),
            **load.summary_ms(run.latencies()),
            "requests": len(run.ok()),
            "errors": run.errors,
            "concurrency": self.o.events_concurrency,
            "duration_s": self.o.duration,
            "cpu": cpu,
            "cpu_us_per_alert": _per_item(cpu, run.throughput()),
            "drain_s": drain,
        }

    def _opener(
        self,
        bodies: typing.Sequence[typing.Callable[[str], bytes]],
        into: dict[int, float],
        failed: dict[str, int],
        prefix: str,
        samples: list[load.Sample] | None = None,
    ) -> typing.Callable[[int], typing.Awaitable[None]]:
        """`send(i)`: post webhook i (bodies round-robin, its group keyed `prefix` + i) and note when each
        incident it opened was sent, by incident number."""
        url = f"{self.d.url}/v1/webhooks/alertmanager"

        async def send(i: int) -> None:
            s = await load.post(
                self.session, url, bodies[i % len(bodies)](f"{prefix}{i}"), self._am_headers, keep_body=True
            )
            if samples is not None:
                samples.append(s)
            if 200 <= s.status < 300:
                for incident in json.loads(s.body)["incidents"]:
                    if incident["created"] and incident["id"] is not None:
                        into[int(incident["id"])] = s.start
            else:
                key = f"HTTP {s.status}" if s.status else "connection error"
                failed[key] = failed.get(key, 0) + 1

        return send

    async def page(self) -> dict[str, typing.Any]:
        """One-alert webhooks at a steady rate; each SMS at the sink is matched to its incident by number."""
        sink = self.d.sink
        if sink is None:
            return {"status": "skipped", "reason": "no Twilio sink the daemon sends to (give --sink-listen)"}
        count = max(1, int(self.o.page_rate * self.o.page_duration))
        sent: dict[int, float] = {}
        failed: dict[str, int] = {}
        first = len(sink.arrivals)
        bodies = [
            load.alertmanager_body(
                [{"alertname": "BenchPage", "page": str(k), "severity": "critical", "instance": "db-1:9100"}],
                f'{{}}:{{alertname="BenchPage",run="{self.run_id}",n="@@KEY@@"}}',
            )
            for k in range(setup.PAGE_USERS)
        ]

        def sender(into: dict[int, float], prefix: str) -> typing.Callable[[int], typing.Awaitable[None]]:
            return self._opener(bodies, into, failed, prefix)

        # As in the ingest phases, a warm-up at the same rate is left out of the figures; its first
        # page, which meets whatever the last phase (or the start) left cold, is reported on its own.
        warm: dict[int, float] = {}
        await load.open_loop(self.o.page_rate, int(self.o.page_rate * self.o.warmup), sender(warm, "warm-"))
        a = self.cpu.snapshot()
        lag = await load.open_loop(self.o.page_rate, count, sender(sent, ""))
        b = self.cpu.snapshot()
        deadline = time.perf_counter() + max(10.0, self.o.page_duration)
        while time.perf_counter() < deadline:
            paged = {n for arr in sink.arrivals[first:] for n in arr.incident_numbers()}
            if (sent.keys() | warm.keys()) <= paged:
                break
            await asyncio.sleep(0.1)
        arrival: dict[int, float] = {}
        bundled = 0
        for arr in sink.arrivals[first:]:
            numbers = arr.incident_numbers()
            if len(set(numbers)) > 1:
                bundled += 1
            for n in numbers:
                arrival.setdefault(n, arr.at)
        latencies = [arrival[n] - t for n, t in sent.items() if n in arrival]
        first_warm = min(warm.items(), key=lambda kv: kv[1], default=None)
        await _wait_idle(self.d, self.o.drain_timeout)
        return {
            "rate_per_s": self.o.page_rate,
            "incidents": len(sent),
            "paged": len(latencies),
            "unmatched": len(sent) - len(latencies),
            **load.summary_ms(latencies),
            "sms": len(sink.arrivals) - first,
            "bundled_sms": bundled,
            "errors": failed,
            "schedule_lag_ms": round(lag * 1000, 1),
            "first_page_ms": (
                round((arrival[first_warm[0]] - first_warm[1]) * 1000, 2)
                if first_warm and first_warm[0] in arrival
                else None
            ),
            "warmup_s": self.o.warmup,
            "cpu": CpuMeter.share(a, b),
        }

    async def _capacity(self) -> tuple[float, str]:
        """Ingest capacity in alerts/s: the ingest phase's figure when it ran, else a brief measurement."""
        r = self.results.get("ingest")
        if r and r.get("status") == "ok" and r.get("alerts_per_s"):
            return float(r["alerts_per_s"]), "ingest phase"
        duration = min(3.0, self.o.duration)
        run, _ = await self._closed(
            f"{self.d.url}/v1/webhooks/alertmanager",
            self._am_headers,
            self._ingest_body("-capacity"),
            self.o.concurrency,
            warmup=min(1.0, self.o.warmup),
            duration=duration,
        )
        await _wait_idle(self.d, self.o.drain_timeout)
        return run.throughput(AM_ALERTS), f"measured for {duration:g} s before the storm"

    async def storm(self) -> dict[str, typing.Any]:
        """P0 probes at a steady rate while a storm of new P3 incidents (100-alert webhooks) arrives at a
        share of the measured ingest capacity and is paged by email (or, with the email failing, by SMS)."""
        sink = self.d.sink
        if sink is None:
            return {"status": "skipped", "reason": "no Twilio sink the daemon sends to (give --sink-listen)"}
        capacity, capacity_source = await self._capacity()
        storm_rate = self.o.storm_share * capacity / AM_ALERTS  # webhooks per second
        if storm_rate <= 0:
            return {"status": "error", "error": f"no ingest capacity to storm at ({capacity_source}: {capacity})"}
        probes = max(1, int(self.o.probe_rate * self.o.duration))
        storm_bodies = [
            load.alertmanager_body(
                [
                    {
                        "alertname": "BenchStorm",
                        "storm": str(k),
                        "severity": "warning",
                        "instance": f"host-{i:03d}:9100",
                        "job": "node",
                    }
                    for i in range(AM_ALERTS)
                ],
                f'{{}}:{{alertname="BenchStorm",run="{self.run_id}",g="@@KEY@@"}}',
            )
            for k in range(setup.STORM_USERS)
        ]
        probe_bodies = [
            load.alertmanager_body(
                [{"alertname": "BenchProbe", "probe": str(k), "severity": "critical", "instance": "db-1:9100"}],
                f'{{}}:{{alertname="BenchProbe",run="{self.run_id}",n="@@KEY@@"}}',
            )
            for k in range(setup.PROBE_USERS)
        ]
        mail = self.d.smtp
        sms_first = len(sink.arrivals)
        mail_first = len(mail.arrivals) if mail is not None else 0
        mail_refused = mail.refused if mail is not None else 0
        storm_sent: dict[int, float] = {}
        probe_sent: dict[int, float] = {}
        failed: dict[str, int] = {}
        probe_failed: dict[str, int] = {}
        samples: list[load.Sample] = []
        # The storm runs through its warm-up, the probes' window and a tail as long as the warm-up,
        # so that every probe meets a storm in full flow.
        storm_requests = max(1, int(storm_rate * (2 * self.o.warmup + self.o.duration)))
        storm = asyncio.ensure_future(
            load.open_loop(storm_rate, storm_requests, self._opener(storm_bodies, storm_sent, failed, "", samples))
        )
        await asyncio.sleep(self.o.warmup)
        a = self.cpu.snapshot()
        window_start = time.perf_counter()
        probe_samples: list[load.Sample] = []
        probe_lag = await load.open_loop(
            self.o.probe_rate, probes, self._opener(probe_bodies, probe_sent, probe_failed, "", probe_samples)
        )
        window_end = time.perf_counter()
        b = self.cpu.snapshot()
        storm_lag = await storm
        deadline = time.perf_counter() + max(10.0, self.o.duration)
        while time.perf_counter() < deadline:
            if probe_sent.keys() <= _first_arrivals(sink.arrivals[sms_first:]).keys():
                break
            await asyncio.sleep(0.1)
        probe_arrival = _first_arrivals(sink.arrivals[sms_first:])
        probe_latencies = [probe_arrival[n] - t for n, t in probe_sent.items() if n in probe_arrival]
        drain = await _wait_idle(self.d, self.o.drain_timeout)
        sms_arrival = _first_arrivals(sink.arrivals[sms_first:])
        mail_arrival: dict[int, float] = {}
        if mail is not None:
            for m in mail.arrivals[mail_first:]:
                for n in m.numbers:
                    mail_arrival.setdefault(n, m.at)
        storm_by_mail = [mail_arrival[n] - t for n, t in storm_sent.items() if n in mail_arrival]
        storm_by_sms = [sms_arrival[n] - t for n, t in storm_sent.items() if n in sms_arrival and n not in mail_arrival]
        stages = await self.d.bench_db.page_stages(list(probe_sent)) if self.d.bench_db is not None else []
        in_window = [s for s in samples if 200 <= s.status < 300 and window_start <= s.end <= window_end]
        span = window_end - window_start
        quiet = self.results.get("page") or {}
        return {
            **load.summary_ms(probe_latencies),
            "probes": len(probe_sent),
            "paged": len(probe_latencies),
            "unmatched": len(probe_sent) - len(probe_latencies),
            "probe_rate_per_s": self.o.probe_rate,
            "probe_schedule_lag_ms": round(probe_lag * 1000, 1),
            "probe_errors": probe_failed,
            # the ingest part of the probes' latency: from the webhook sent to its 2xx (after COMMIT)
            "probe_response": load.summary_ms(s.end - s.start for s in probe_samples if 200 <= s.status < 300),
            # then, by the daemon's clock (with --database-url or an own pager): ingest -> page queued by the
            # engine, and queued -> recorded sent by the sender (after Twilio answered)
            "probe_queued": load.summary_ms(q for q, _ in stages) if stages else None,
            "probe_sent": load.summary_ms(t for _, t in stages) if stages else None,
            "quiet": {k: quiet.get(k) for k in ("p50_ms", "p99_ms", "max_ms")} if quiet.get("status") == "ok" else None,
            "capacity_alerts_per_s": round(capacity, 1),
            "capacity_source": capacity_source,
            "storm_share": self.o.storm_share,
            "storm_target_alerts_per_s": round(storm_rate * AM_ALERTS, 1),
            "storm_alerts_per_s": round(len(in_window) * AM_ALERTS / span, 1) if span > 0 else None,
            "storm_alerts_per_request": AM_ALERTS,
            "storm_requests": len(samples),
            "storm_response": load.summary_ms(s.end - s.start for s in samples if 200 <= s.status < 300),
            "storm_schedule_lag_ms": round(storm_lag * 1000, 1),
            "storm_incidents": len(storm_sent),
            "storm_email_fails": self.o.storm_email_fails,
            "storm_paged_by_email": len(storm_by_mail),
            "storm_paged_by_sms": len(storm_by_sms),
            "storm_emails_refused": (mail.refused - mail_refused) if mail is not None else None,
            "storm_page": load.summary_ms([*storm_by_mail, *storm_by_sms]),
            "errors": failed,
            "duration_s": self.o.duration,
            "warmup_s": self.o.warmup,
            "cpu": CpuMeter.share(a, b),
            "drain_s": drain,
        }

    async def vs_alertmanager(self) -> dict[str, typing.Any]:
        """The same closed loop against pager and against Alertmanager, in turn, in this run: 100-alert
        batches (webhook vs POST /api/v2/alerts) and single alerts (Events v2 vs one-alert POST), at each
        of VS_CONCURRENCY in flight. Ratios are pager's rate over Alertmanager's."""
        binary = alertmanager.find(self.o.alertmanager)
        if binary is None:
            return {
                "status": "skipped",
                "reason": (
                    f"no Alertmanager to run at {self.o.alertmanager}"
                    if self.o.alertmanager
                    else f"Alertmanager not found at {alertmanager.BINARY} nor on PATH; "
                    "on Debian: apt-get install prometheus-alertmanager"
                ),
            }
        am_headers = {"Content-Type": "application/json"}
        runs = []
        out: dict[str, typing.Any] = {}
        async with alertmanager.running(binary, setup.free_port()) as am:
            meter = CpuMeter(self.d.pid, self.d.postgres_pid, alertmanager=am.pid)
            batch_labels = [
                {
                    "alertname": "BenchIngest",
                    "bench": "ingest",
                    "severity": "critical",
                    "instance": f"host-{i:03d}:9100",
                    "job": "node",
                }
                for i in range(AM_ALERTS)
            ]
            single_labels = [{"alertname": "BenchEvents", "bench": "events", "severity": "critical"}]
            kinds = {
                "batch": (
                    AM_ALERTS,
                    (f"{self.d.url}/v1/webhooks/alertmanager", self._am_headers),
                    alertmanager.alerts_body(batch_labels),
                ),
                "single": (1, (f"{self.d.url}/v2/enqueue", self._ev_headers), alertmanager.alerts_body(single_labels)),
            }
            for kind, (items, (url, headers), am_body) in kinds.items():
                for concurrency in VS_CONCURRENCY:
                    tag = f"-vs{concurrency}"
                    new_body = self._ingest_body if kind == "batch" else self._events_body
                    pager_body = new_body(tag)
                    p_run, p_cpu = await self._closed(url, headers, pager_body, concurrency, cpu=meter)
                    drain = await _wait_idle(self.d, self.o.drain_timeout)
                    a_run, a_cpu = await self._closed(
                        f"{am.url}/api/v2/alerts",
                        am_headers,
                        lambda i, c=concurrency, b=am_body: b(f"{self.run_id}-{c}-{i}"),
                        concurrency,
                        cpu=meter,
                    )
                    p_rate, a_rate = p_run.throughput(items), a_run.throughput(items)
                    ratio = round(p_rate / a_rate, 3) if a_rate > 0 else None
                    entry = {
                        "kind": kind,
                        "alerts_per_request": items,
                        "concurrency": concurrency,
                        "ratio": ratio,
                        "pager": _loop_figures(p_run, items, p_cpu) | {"drain_s": drain},
                        "alertmanager": _loop_figures(a_run, items, a_cpu),
                    }
                    if worker := _urgent_worker(self.d):
                        entry["ingest_alone"] = await self._ingest_alone(
                            worker,
                            url,
                            headers,
                            new_body(f"{tag}a"),
                            concurrency,
                            items,
                            a_rate,
                            meter,
                        )
                    runs.append(entry)
                    out[f"{kind}_ratio_{concurrency}"] = ratio
            version = am.version
        return {
            **out,
            "runs": runs,
            "alertmanager": {"binary": binary, "version": version},
            "duration_s": self.o.duration,
            "warmup_s": self.o.warmup,
        }

    async def _ingest_alone(
        self,
        worker: typing.Any,
        url: str,
        headers: typing.Mapping[str, str],
        body: load.Body,
        concurrency: int,
        items: int,
        am_rate: float,
        meter: CpuMeter,
    ) -> dict[str, typing.Any]:
        """The same loop with the urgent worker stopped (SIGSTOP), so pager only ingests: what its P0
        pages cost beside the ingest, which Alertmanager's null receiver never pays. Not a target: the
        incidents queue while it is stopped, and it pages them all once continued."""
        worker.suspend()
        try:
            run, cpu = await self._closed(url, headers, body, concurrency, cpu=meter)
        finally:
            worker.resume()
        drain = await self.drained()
        rate = run.throughput(items)
        return _loop_figures(run, items, cpu) | {
            "drain_s": drain,
            "ratio": round(rate / am_rate, 3) if am_rate > 0 else None,
        }

    async def voice(self) -> dict[str, typing.Any]:
        """Alert → Twilio call request for P1 incidents paged by voice (pager.bench.voice)."""
        return await voice_phase.measure(self)

    async def lateness(self) -> dict[str, typing.Any]:
        """Timers armed in batches (step 2 due a fixed time after step 1 paged), then fired − due per timer."""
        ack = datetime.timedelta(seconds=self.o.late_ack_timeout)
        prefix = f"bench-late-{self.run_id}-"
        body = load.events_body(self.d.events_key, {"bench": "late"})
        url = f"{self.d.url}/v2/enqueue"
        batches = max(1, -(-self.o.timers // self.o.timer_batch))
        failed: dict[str, int] = {}
        before = _histogram(await _scrape(self.session, self.d.url))

        async def batch(b: int) -> None:
            first = b * self.o.timer_batch
            n = min(self.o.timer_batch, self.o.timers - first)
            for s in await asyncio.gather(
                *(load.post(self.session, url, body(f"{prefix}{first + j}"), self._ev_headers) for j in range(n))
            ):
                if not 200 <= s.status < 300:
                    key = f"HTTP {s.status}" if s.status else "connection error"
                    failed[key] = failed.get(key, 0) + 1

        armed_max = 0
        opening = asyncio.ensure_future(load.open_loop(batches / self.o.open_window, batches, batch))
        t0 = time.perf_counter()
        a = self.cpu.snapshot()
        if self.d.bench_db is None:
            await opening
            await asyncio.sleep(self.o.late_ack_timeout + 5)
            after = _histogram(await _scrape(self.session, self.d.url))
            quantiles = {
                f"p{q}_ms": (None if (v := _histogram_quantile(before, after, q)) is None else round(v * 1000, 1))
                for q in (50, 90, 99)
            }
            return {
                "source": "metrics",
                "note": "pager_escalation_lateness_seconds buckets, interpolated; "
                "give --database-url for exact per-timer figures",
                "timers": self.o.timers,
                **quantiles,
                "errors": failed,
            }
        deadline = t0 + self.o.open_window + self.o.late_ack_timeout + max(30.0, self.o.late_ack_timeout)
        progress = await self.d.bench_db.timer_progress(prefix)
        while time.perf_counter() < deadline:
            progress = await self.d.bench_db.timer_progress(prefix)
            armed_max = max(armed_max, progress.armed)
            if opening.done() and progress.opened and progress.fired >= progress.opened:
                break
            await asyncio.sleep(0.1)
        b = self.cpu.snapshot()
        await opening
        lateness = await self.d.bench_db.timer_lateness(prefix, ack)
        await _wait_idle(self.d, self.o.drain_timeout)
        return {
            "source": "database",
            "timers": self.o.timers,
            "opened": progress.opened,
            "armed_max": armed_max,
            "fired": len(lateness),
            **load.summary_ms(lateness),
            "min_ms": round(lateness[0] * 1000, 2) if lateness else None,
            "ack_timeout_s": self.o.late_ack_timeout,
            "open_window_s": self.o.open_window,
            "batch": self.o.timer_batch,
            "errors": failed,
            "cpu": CpuMeter.share(a, b),
        }

    async def takeover(self) -> dict[str, typing.Any]:
        return await takeover.run(self)

    async def soak(self) -> dict[str, typing.Any]:
        return await soak.run(self)

    async def rss(self) -> dict[str, typing.Any]:
        """Open incidents until `incidents` are open (100 per webhook, one per service), then read the RSS."""
        if self.d.pid is None:
            return {"status": "skipped", "reason": "the daemon's process id is unknown (give --pid)"}
        base = _tree_status(self.d.pid)
        already = await self.d.bench_db.open_incidents() if self.d.bench_db is not None else 0
        needed = max(0, self.o.incidents - already)
        per = setup.RSS_SERVICES
        requests = -(-needed // per)
        alerts = [
            {"alertname": "BenchRss", "rss": str(k), "severity": "critical", "instance": f"host-{k}:9100"}
            for k in range(per)
        ]
        body = load.alertmanager_body(alerts, f'{{}}:{{alertname="BenchRss",run="{self.run_id}",g="@@KEY@@"}}')
        url = f"{self.d.url}/v1/webhooks/alertmanager"
        counter = itertools.count()
        failed: dict[str, int] = {}
        t0 = time.perf_counter()

        async def worker() -> None:
            while (i := next(counter)) < requests:
                s = await load.post(self.session, url, body(str(i)), self._am_headers)
                if not 200 <= s.status < 300:
                    key = f"HTTP {s.status}" if s.status else "connection error"
                    failed[key] = failed.get(key, 0) + 1

        await asyncio.gather(*(worker() for _ in range(self.o.concurrency)))
        opened_in = time.perf_counter() - t0
        drain = await _wait_idle(self.d, self.o.drain_timeout)
        open_now = await self.d.bench_db.open_incidents() if self.d.bench_db is not None else already + needed
        status = _tree_status(self.d.pid)
        mb = 1024 * 1024
        return {
            "open_incidents": open_now,
            "opened": requests * per,
            "open_s": round(opened_in, 2),
            "incidents_per_s": round(requests * per / opened_in, 1) if requests and opened_in > 0 else None,
            "drain_s": drain,
            "rss_mb": round(status["VmRSS"] / mb, 1),
            "peak_rss_mb": round(status["VmHWM"] / mb, 1) if "VmHWM" in status else None,
            "rss_before_mb": round(base["VmRSS"] / mb, 1),
            "processes": status["processes"],
            "errors": failed,
        }


def _urgent_worker(d: Daemon) -> typing.Any | None:
    """The urgent worker (`python -m pager.urgent`) of a pager the bench started, as a psutil.Process."""
    import psutil

    if d.mode != "embedded" or d.pid is None:
        return None
    try:
        return next((c for c in psutil.Process(d.pid).children() if "pager.urgent" in c.cmdline()), None)
    except psutil.Error:
        return None


def _first_arrivals(arrivals: typing.Iterable[twilio_sink.Arrival]) -> dict[int, float]:
    """When the first SMS naming each incident reached the sink."""
    out: dict[int, float] = {}
    for arr in arrivals:
        for n in arr.incident_numbers():
            out.setdefault(n, arr.at)
    return out


def _per_item(cpu: dict[str, float | None], rate: float) -> dict[str, float | None]:
    """CPU microseconds each process spent per alert: a cost that a busy machine disturbs less than a rate."""
    return {
        k.removesuffix("_pct"): None if v is None or rate <= 0 else round(v / 100 * 1e6 / rate, 1)
        for k, v in cpu.items()
        if k != "other_pct"
    }


def _loop_figures(run: load.Run, items: int, cpu: dict[str, float | None]) -> dict[str, typing.Any]:
    rate = run.throughput(items)
    return {
        "alerts_per_s": round(rate, 1),
        "requests_per_s": round(run.throughput(), 1),
        **load.summary_ms(run.latencies()),
        "requests": len(run.ok()),
        "errors": run.errors,
        "cpu": cpu,
        "cpu_us_per_alert": _per_item(cpu, rate),
    }


# --- report ---------------------------------------------------------------------------------------------


def _checks(phases: dict[str, dict[str, typing.Any]]) -> list[dict[str, typing.Any]]:
    out = []
    for t in TARGETS:
        result = phases.get(t.phase)
        if result is None or result.get("status") != "ok":
            continue
        value = result.get(t.figure)
        out.append(
            {
                "phase": t.phase,
                "figure": t.figure,
                "name": t.name,
                "value": value,
                "op": t.op,
                "target": t.limit,
                "unit": t.unit,
                "passed": t.check(value),
            }
        )
    return out


def _num(v: float | None, digits: int = 1) -> str:
    if v is None:
        return "-"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.{digits}f}"


def _cpu(cpu: dict[str, float | None] | None) -> str:
    if not cpu:
        return ""
    parts = [f"{k.removesuffix('_pct')} {v:.0f}%" for k, v in cpu.items() if v is not None]
    return "CPU (% of one core): " + ", ".join(parts) if parts else ""


def _ms3(r: dict[str, typing.Any] | None) -> str:
    if not r:
        return "-"
    return f"{_num(r.get('p50_ms'))} / {_num(r.get('p99_ms'))} / {_num(r.get('max_ms'))} ms"


def _storm_rows(r: dict[str, typing.Any]) -> list[tuple[str, str, str]]:
    how = "email refused, so by SMS" if r["storm_email_fails"] else "by email"
    rows = [
        ("p50 / p99 / max: ", _ms3(r), "p99_ms"),
        ("quiet (page phase): ", _ms3(r.get("quiet")) if r.get("quiet") else "(page phase not run)", ""),
        ("", f"{r['paged']}/{r['probes']} probes at {_num(r['probe_rate_per_s'], 0)}/s", ""),
        ("probes' webhook answered (COMMIT) in: ", _ms3(r.get("probe_response")), ""),
        ("then page queued by the engine in: ", _ms3(r.get("probe_queued")), ""),
        ("then sent (Twilio answered) in: ", _ms3(r.get("probe_sent")), ""),
        (
            "storm: ",
            f"{_num(r['storm_alerts_per_s'])} alerts/s of new P3 incidents "
            f"({_num(r['storm_share'] * 100, 0)}% of {_num(r['capacity_alerts_per_s'])} alerts/s, {r['capacity_source']})",
            "",
        ),
        (
            "storm paged " + how + ": ",
            f"{r['storm_paged_by_email'] + r['storm_paged_by_sms']}/{r['storm_incidents']} incidents, "
            f"alert → page {_ms3(r.get('storm_page'))}",
            "",
        ),
    ]
    return rows


def _vs_rows(r: dict[str, typing.Any]) -> list[tuple[str, str, str]]:
    rows = []
    for run in r["runs"]:
        what = "100-alert batches" if run["kind"] == "batch" else "single alerts"
        unit = "alerts/s" if run["kind"] == "batch" else "events/s"
        ratio = "-" if run["ratio"] is None else f"{run['ratio']:.2f}×"
        rows.append(
            (
                f"{what}, {run['concurrency']} in flight: ",
                f"{ratio} (pager {_num(run['pager']['alerts_per_s'])} vs {_num(run['alertmanager']['alerts_per_s'])} {unit})",
                f"{run['kind']}_ratio_{run['concurrency']}",
            )
        )
        if alone := run.get("ingest_alone"):
            alone_ratio = "-" if alone["ratio"] is None else f"{alone['ratio']:.2f}×"
            rows.append(
                (
                    "  pager ingesting alone (urgent worker paused): ",
                    f"{alone_ratio} ({_num(alone['alerts_per_s'])} {unit})",
                    "",
                )
            )
    rows.append(("", r["alertmanager"]["version"], ""))
    return rows


def table(summary: dict[str, typing.Any]) -> str:
    phases = summary["phases"]
    checks = {(c["phase"], c["figure"]): c for c in summary["checks"]}
    rows: list[tuple[str, str, str, str]] = []
    notes: list[str] = []

    def verdict(phase: str, figure: str) -> tuple[str, str]:
        c = checks.get((phase, figure))
        if c is None:
            return "", ""
        target = f"{c['op'].replace('>=', '≥').replace('<=', '≤')} {_num(c['target'], 0 if c['target'] >= 10 else 2)} {c['unit']}"
        return target, {True: "PASS", False: "MISS", None: "-"}[c["passed"]]

    def add(
        phase: str, label: str, build: typing.Callable[[dict[str, typing.Any]], list[tuple[str, str, str]]]
    ) -> None:
        r = phases.get(phase)
        if r is None:
            return
        if r.get("status") != "ok":
            rows.append((label, r.get("status", "?") + ": " + str(r.get("reason") or r.get("error")), "", ""))
            return
        for i, (name, value, figure) in enumerate(build(r)):
            target, ok = verdict(phase, figure) if figure else ("", "")
            rows.append((label if i == 0 else "", f"{name}{value}", target, ok))

    add(
        "ingest",
        "ingest: Alertmanager webhooks of 100 alerts",
        lambda r: [
            ("", f"{_num(r['alerts_per_s'])} alerts/s ({_num(r['requests_per_s'])} webhooks/s)", "alerts_per_s"),
            ("response p50 / p99: ", f"{_num(r['p50_ms'])} / {_num(r['p99_ms'])} ms", ""),
        ],
    )
    add(
        "events",
        "ingest: single Events v2 requests",
        lambda r: [
            ("", f"{_num(r['events_per_s'])} events/s", "events_per_s"),
            ("response p50 / p99: ", f"{_num(r['p50_ms'])} / {_num(r['p99_ms'])} ms", ""),
        ],
    )
    add(
        "page",
        "alert → Twilio request",
        lambda r: [
            ("p50 / p99 / max: ", f"{_num(r['p50_ms'])} / {_num(r['p99_ms'])} / {_num(r['max_ms'])} ms", "p99_ms"),
            ("", f"{r['paged']}/{r['incidents']} incidents at {_num(r['rate_per_s'], 0)}/s", ""),
            (
                "",
                f"after a {_num(r.get('warmup_s'))} s warm-up, whose first page took {_num(r.get('first_page_ms'))} ms",
                "",
            ),
        ],
    )
    add("storm", "P0 alert → Twilio request, in a storm", _storm_rows)
    add(
        "lateness",
        "escalation lateness (fired − due)",
        lambda r: [
            ("p50 / p99: ", f"{_num(r.get('p50_ms'))} / {_num(r.get('p99_ms'))} ms", "p99_ms"),
            (
                "",
                f"{r.get('fired', '?')} timers fired, {r.get('armed_max', '?')} armed at most"
                if r.get("source") == "database"
                else "from the metrics histogram",
                "",
            ),
        ],
    )
    add(
        "rss",
        "daemon RSS",
        lambda r: [
            ("", f"{_num(r['rss_mb'])} MB at {_num(r['open_incidents'], 0)} open incidents", "rss_mb"),
            ("peak: ", f"{_num(r['peak_rss_mb'])} MB (at start: {_num(r['rss_before_mb'])} MB)", ""),
        ],
    )
    add("vs_alertmanager", "side by side with Alertmanager", _vs_rows)
    add(
        "voice",
        "alert → Twilio call request",
        lambda r: [
            ("p50 / p99: ", f"{_num(r['p50_ms'])} / {_num(r['p99_ms'])} ms", ""),
            ("", f"{r['called']}/{r['incidents']} incidents at {_num(r['rate_per_s'], 0)}/s", ""),
            ("load average (1 min): ", f"{r['load_avg_1m'][0]} → {r['load_avg_1m'][1]} on {r['cpus']} CPUs", ""),
        ],
    )
    add("takeover", "takeover of a replica's timers", takeover.rows)
    add("soak", "soak at half capacity", soak.rows_for_table)
    for phase in ALL_PHASES:
        r = phases.get(phase)
        if phase == "vs_alertmanager" and r and r.get("status") == "ok":
            for run in r["runs"]:
                for who in ("pager", "alertmanager", "ingest_alone"):
                    if who in run:
                        notes.append(
                            f"  vs_alertmanager {run['kind']} {run['concurrency']} {who}: {_cpu(run[who]['cpu'])}"
                        )
            continue
        if r and r.get("status") == "ok":
            bits = [_cpu(r.get("cpu"))]
            cpu = r.get("cpu") or {}
            other = cpu.get("other_pct")  # includes PostgreSQL when its process is not known (--url)
            if other is not None and cpu.get("postgres_pct") is not None and other >= BUSY_MACHINE_PCT:
                bits.append(f"WARNING: other processes used {other:.0f}% of a core meanwhile; figures are disturbed")
            if r.get("drain_s"):
                bits.append(f"backlog drained {r['drain_s']:g}s after the load")
            if r.get("errors"):
                bits.append(f"errors: {r['errors']}")
            if r.get("unmatched"):
                bits.append(f"{r['unmatched']} incidents without a matching SMS")
            bits = [b for b in bits if b]
            if bits:
                notes.append(f"  {phase}: " + "; ".join(bits))

    header = ("figure", "value", "target", "")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
    lines = [
        f"pager bench ({summary['target']['mode']}, {summary['machine']['cpus']} CPUs, "
        f"concurrency {summary['options']['concurrency']} webhooks / {summary['options']['events_concurrency']} "
        f"events{', quick' if summary['quick'] else ''})",
        "",
        "  ".join(h.ljust(w) for h, w in zip(header[:3], widths)),
    ]
    lines += [
        "  ".join([a.ljust(widths[0]), b.ljust(widths[1]), c.ljust(widths[2]), d]).rstrip() for a, b, c, d in rows
    ]
    if notes:
        lines += ["", *notes]
    missed = list(dict.fromkeys(c["phase"] for c in summary["checks"] if c["passed"] is False))
    if summary["passed"]:
        lines += ["", "all targets met"]
    elif missed:
        lines += ["", "targets missed: " + ", ".join(missed)]
    else:
        lines += ["", "some phases did not run"]
    return "\n".join(lines)


# --- entry point ----------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _daemon(
    o: Options, sink: twilio_sink.TwilioSink | None, mail: smtp_sink.SmtpSink | None
) -> typing.AsyncIterator[Daemon]:
    from pager.store import bench as bench_store
    from pager.store import db

    async def store(url: str | None) -> typing.Any:
        if not url:
            return None
        return bench_store.BenchStore(await db.create_pool(url, max_size=2))

    if o.url is None:
        assert sink is not None
        _log("starting embedded PostgreSQL and pager …")
        async with setup.own_pager(
            sink,
            late_ack_timeout=datetime.timedelta(seconds=o.late_ack_timeout),
            smtp=(mail.host, mail.port) if mail is not None else None,
            keep=o.keep,
            pool_max=o.pool_max,
        ) as own:
            bdb = await store(own.database_url)
            try:
                yield Daemon(
                    own.url,
                    setup.AM_TOKEN,
                    setup.EVENTS_KEY,
                    own.pid,
                    bdb,
                    own.postgres_pid,
                    sink,
                    "embedded",
                    own.database_url,
                    mail,
                )
            finally:
                await bdb.pool.close()
        return
    bdb = await store(o.database_url)
    try:
        yield Daemon(
            o.url.rstrip("/"), o.am_token or "", o.events_key or "", o.pid, bdb, None, sink, "url", o.database_url, mail
        )
    finally:
        if bdb is not None:
            await bdb.pool.close()


async def run(o: Options) -> dict[str, typing.Any]:
    started = datetime.datetime.now(datetime.UTC)
    sink = None
    mail = None
    if o.url is None or o.sink_listen:
        sink = twilio_sink.TwilioSink()
        host, _, port = (o.sink_listen or "127.0.0.1:0").rpartition(":")
        await sink.start(host or "127.0.0.1", int(port))
    if o.url is None or o.smtp_listen:
        mail = smtp_sink.SmtpSink(fail=o.storm_email_fails)
        host, _, port = (o.smtp_listen or "127.0.0.1:0").rpartition(":")
        await mail.start(host or "127.0.0.1", int(port))
    phases: dict[str, dict[str, typing.Any]] = {}
    d_has_db = False
    try:
        async with _daemon(o, sink, mail) as d:
            d_has_db = d.bench_db is not None
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, force_close=False)
            async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
                bench = Bench(o, d, session)
                bench.results = phases
                for name in ALL_PHASES:
                    if name not in o.only:
                        continue
                    if o.vacuum and d.bench_db is not None and phases:
                        # Between phases, never on the empty database: statistics of empty tables make
                        # PostgreSQL plan every foreign-key check of the next burst as a sequential scan.
                        await d.bench_db.vacuum()
                    _log(f"{name} …")
                    t = time.perf_counter()
                    try:
                        result = await getattr(bench, name)()
                    except Exception as exc:  # noqa: BLE001 - one broken phase must not hide the others' figures
                        result = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
                    result.setdefault("status", "ok")
                    result["elapsed_s"] = round(time.perf_counter() - t, 1)
                    phases[name] = result
                    _log(f"{name}: {json.dumps(result)}")
    finally:
        if sink is not None:
            await sink.stop()
        if mail is not None:
            await mail.stop()
    checks = _checks(phases)
    try:
        version = importlib.metadata.version("pager")
    except importlib.metadata.PackageNotFoundError:
        version = None
    return {
        "bench": "pager",
        "schema": SCHEMA,
        "pager_version": version,
        "started_at": started.isoformat().replace("+00:00", "Z"),
        "elapsed_s": round((datetime.datetime.now(datetime.UTC) - started).total_seconds(), 1),
        "quick": o.quick,
        "target": {
            "mode": "embedded" if o.url is None else "url",
            "url": o.url,
            "database": "embedded" if o.url is None else ("given" if o.database_url else None),
        },
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "options": {
            "concurrency": o.concurrency,
            "events_concurrency": o.events_concurrency,
            "duration_s": o.duration,
            "warmup_s": o.warmup,
            "page_rate": o.page_rate,
            "page_duration_s": o.page_duration,
            "timers": o.timers,
            "late_ack_timeout_s": o.late_ack_timeout,
            "incidents": o.incidents,
            "storm_share": o.storm_share,
            "probe_rate": o.probe_rate,
            "storm_email_fails": o.storm_email_fails,
            "only": list(o.only),
            "soak_s": o.soak,
            "vacuum": o.vacuum and d_has_db,
        },
        "phases": phases,
        "checks": checks,
        "passed": bool(checks)
        and all(c["passed"] for c in checks)
        and all(r.get("status") == "ok" for r in phases.values()),
    }


def main(o: Options) -> int:
    try:
        import uvloop
    except ImportError:
        pass
    else:
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    try:
        summary = asyncio.run(run(o))
    except RuntimeError as exc:
        print(f"pager bench: {exc}", file=sys.stderr)
        return 1
    if o.json:  # the summary on stdout for scripts, the table on stderr for whoever watches
        print(table(summary), file=sys.stderr)
        print(json.dumps(summary, indent=2))
    else:
        print(table(summary))
    return 0
