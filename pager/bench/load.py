"""Load generation and the arithmetic of its results: request bodies, closed and open loops, percentiles."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import math
import time
import typing

import aiohttp

Body = typing.Callable[[int], bytes]


def percentile(values: typing.Sequence[float], q: float) -> float | None:
    """The q-th percentile (0–100) of sorted `values`, interpolated between closest ranks."""
    if not values:
        return None
    k = (len(values) - 1) * q / 100
    lo = math.floor(k)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def summary_ms(seconds: typing.Iterable[float]) -> dict[str, float | None]:
    """p50/p90/p99/max in milliseconds of durations given in seconds."""
    values = sorted(seconds)

    def ms(v: float | None) -> float | None:
        return None if v is None else round(v * 1000, 2)

    return {
        "p50_ms": ms(percentile(values, 50)),
        "p90_ms": ms(percentile(values, 90)),
        "p99_ms": ms(percentile(values, 99)),
        "max_ms": ms(values[-1] if values else None),
    }


# --- bodies -------------------------------------------------------------------------------------------


def template(payload: typing.Any, marker: str) -> typing.Callable[[str], bytes]:
    """A body with `marker` replaced by a fresh string per request: no JSON encoding on the hot path."""
    head, sep, tail = json.dumps(payload, separators=(",", ":")).encode().partition(marker.encode())
    assert sep, marker
    parts = tail.split(marker.encode())

    def make(value: str) -> bytes:
        v = value.encode()
        return head + v + v.join(parts)

    return make


def alertmanager_body(
    alerts: typing.Sequence[dict[str, str]], group_key: str, marker: str = "@@KEY@@"
) -> typing.Callable[[str], bytes]:
    """An Alertmanager v4 webhook: one group (`group_key`, in which `marker` is replaced), these alerts firing.

    `marker` may appear in the alerts' labels too; every occurrence gets the same value.
    """
    body = {
        "receiver": "pager",
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": labels,
                "annotations": {"summary": f"{labels.get('alertname', 'Bench')} on {labels.get('instance', '-')}"},
                "startsAt": "2026-11-22T17:51:43.607770712Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
                "fingerprint": f"{i:016x}",
            }
            for i, labels in enumerate(alerts)
        ],
        "groupLabels": {"alertname": "Bench"},
        "commonLabels": {"alertname": "Bench"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
    }
    return template(body, marker)


def events_body(routing_key: str, details: dict[str, str], marker: str = "@@KEY@@") -> typing.Callable[[str], bytes]:
    """A PagerDuty Events v2 trigger whose dedup_key is `marker`, replaced per request."""
    body = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": marker,
        "payload": {
            "summary": "bench event",
            "source": "bench-host",
            "severity": "critical",
            "custom_details": details,
        },
    }
    return template(body, marker)


# --- loops --------------------------------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class Sample:
    start: float
    end: float
    status: int
    body: bytes = b""


@dataclasses.dataclass
class Run:
    samples: list[Sample]
    window_start: float
    window_end: float
    errors: dict[str, int]

    def ok(self) -> list[Sample]:
        return [s for s in self.samples if 200 <= s.status < 300]

    def throughput(self, items_per_request: int = 1) -> float:
        """Items of requests answered 2xx inside the window, per second of the window."""
        span = self.window_end - self.window_start
        done = sum(1 for s in self.samples if 200 <= s.status < 300 and self.window_start <= s.end <= self.window_end)
        return done * items_per_request / span if span > 0 else 0.0

    def latencies(self) -> list[float]:
        """Response times of the 2xx requests that started inside the window."""
        return [s.end - s.start for s in self.samples if 200 <= s.status < 300 and s.start >= self.window_start]


def _error_key(status: int, exc: BaseException | None) -> str:
    return type(exc).__name__ if exc is not None else f"HTTP {status}"


async def post(
    session: aiohttp.ClientSession, url: str, body: bytes, headers: typing.Mapping[str, str], keep_body: bool = False
) -> Sample:
    start = time.perf_counter()
    try:
        async with session.post(url, data=body, headers=headers) as r:
            data = await r.read()
            return Sample(start, time.perf_counter(), r.status, data if keep_body else b"")
    except (TimeoutError, aiohttp.ClientError, OSError):
        return Sample(start, time.perf_counter(), 0)


async def closed_loop(
    session: aiohttp.ClientSession,
    url: str,
    headers: typing.Mapping[str, str],
    body: Body,
    *,
    concurrency: int,
    duration: float,
    warmup: float,
    counter: typing.Iterator[int] | None = None,
) -> Run:
    """`concurrency` workers, each sending its next request when the last is answered, for warmup + duration."""
    counter = counter if counter is not None else itertools.count()
    samples: list[Sample] = []
    errors: dict[str, int] = {}
    t0 = time.perf_counter()
    window_start, window_end = t0 + warmup, t0 + warmup + duration

    async def worker() -> None:
        while time.perf_counter() < window_end:
            start = time.perf_counter()
            try:
                async with session.post(url, data=body(next(counter)), headers=headers) as r:
                    await r.read()
                    status = r.status
                    exc = None
            except (TimeoutError, aiohttp.ClientError, OSError) as e:
                status, exc = 0, e
            end = time.perf_counter()
            samples.append(Sample(start, end, status))
            if not 200 <= status < 300:
                key = _error_key(status, exc)
                errors[key] = errors.get(key, 0) + 1
                if status == 0:
                    await asyncio.sleep(0.05)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Run(samples, window_start, window_end, errors)


async def open_loop(
    rate: float,
    count: int,
    send: typing.Callable[[int], typing.Awaitable[None]],
) -> float:
    """Start `send(i)` for i in 0..count-1 at `rate` per second on a fixed schedule, whatever the answers
    take; returns the schedule's lag at the end (how far behind the last start was), in seconds."""
    tasks = set()
    t0 = time.perf_counter()
    lag = 0.0
    for i in range(count):
        due = t0 + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            lag = max(lag, -delay)
        task = asyncio.ensure_future(send(i))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.gather(*tasks)
    return lag
