"""`pager bench --only takeover`: how late escalation steps are when a replica dies mid-escalation.

Two more `pager run` replicas join the daemon under test on its database (three in all). Step-1
pages are opened through one of them, the victim; halfway through the step-2 timers falling due,
it is killed with SIGKILL. The survivors must carry on: there is no leader to elect, the timers are
rows any engine claims (FOR UPDATE SKIP LOCKED), and PostgreSQL drops the dead one's locks when its
connections close. The figure is how late the timers due after the kill fired (fired − due, when
the step's pages were queued), against those due before it. Pages to the step's one person are
then bundled and held by the per-contact throttle, as for anyone paged by hundreds of incidents at
once, so their send time is no measure of the takeover.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import typing

import yaml

from pager.bench import load, setup
from pager.store import takeover as takeover_store

REPLICAS = 2  # started by this phase, beside the daemon under test


class _Replica:
    def __init__(self, workdir: pathlib.Path, name: str, sink_url: str, database_url: str, ack: datetime.timedelta):
        self.name = name
        self.listen = f"127.0.0.1:{setup.free_port()}"
        self.url = f"http://{self.listen}"
        self.dir = workdir / name
        self.dir.mkdir()
        cfg = setup.config(listen=self.listen, sink_url=sink_url, data_dir=self.dir / "data", late_ack_timeout=ack)
        self.config = self.dir / "pager.yaml"
        self.config.write_text(yaml.safe_dump(cfg, sort_keys=False))
        self.log = self.dir / "pager.log"
        self.env = {**os.environ, **setup.environment(database_url)}
        self.env.pop("PAGER_CONFIG", None)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "pager", "--log-json", "run", "--config", str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.dir,
            )

    async def ready(self) -> None:
        assert self.proc is not None
        await setup._wait_ready(self.url, self.proc, self.log, 60)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _ms(values: typing.Sequence[float]) -> dict[str, float | None]:
    return load.summary_ms(values)


async def run(bench: typing.Any) -> dict[str, typing.Any]:
    o, d = bench.o, bench.d
    if d.bench_db is None or d.database_url is None:
        return {"status": "skipped", "reason": "needs the daemon's database (give --database-url)"}
    if d.sink is None:
        return {"status": "skipped", "reason": "needs the Twilio sink the daemon sends to (give --sink-listen)"}
    ack = datetime.timedelta(seconds=o.late_ack_timeout)
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="pager-bench-takeover-"))
    replicas = [_Replica(workdir, f"replica{i + 2}", d.sink.url, d.database_url, ack) for i in range(REPLICAS)]
    victim = replicas[0]
    prefix = f"bench-take-{bench.run_id}-"
    try:
        for r in replicas:
            r.start()
        await asyncio.gather(*(r.ready() for r in replicas))
        body = load.events_body(d.events_key, {"bench": "late"})
        url = f"{victim.url}/v2/enqueue"
        headers = {"Content-Type": "application/json"}
        batches = max(1, -(-o.timers // o.timer_batch))
        failed: dict[str, int] = {}

        async def batch(b: int) -> None:
            first = b * o.timer_batch
            n = min(o.timer_batch, o.timers - first)
            for s in await asyncio.gather(
                *(load.post(bench.session, url, body(f"{prefix}{first + j}"), headers) for j in range(n))
            ):
                if not 200 <= s.status < 300:
                    key = f"HTTP {s.status}" if s.status else "connection error"
                    failed[key] = failed.get(key, 0) + 1

        t0 = time.perf_counter()
        opening = asyncio.ensure_future(load.open_loop(batches / o.open_window, batches, batch))
        # Step-2 timers fall due from `ack` after the first step 1 to `ack` after the last: kill halfway.
        await asyncio.sleep(max(0.0, t0 + o.late_ack_timeout + o.open_window / 2 - time.perf_counter()))
        victim.kill9()
        killed = time.time()
        await opening
        deadline = time.perf_counter() + o.late_ack_timeout + o.open_window + 60
        timers: list[takeover_store.Timer] = []
        while time.perf_counter() < deadline:
            timers = await takeover_store.timers(d.bench_db.pool, prefix, ack)
            if len(timers) >= o.timers - sum(failed.values()) and all(t.fired is not None for t in timers):
                break
            await asyncio.sleep(0.2)
        survivors_alive = all(r.proc is not None and r.proc.poll() is None for r in replicas[1:])
    finally:
        for r in replicas:
            r.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    def late(ts: list[takeover_store.Timer], attr: str) -> list[float]:
        return sorted(getattr(t, attr) - t.due for t in ts if getattr(t, attr) is not None)

    before = [t for t in timers if t.due < killed]
    after = [t for t in timers if t.due >= killed]
    fired_after = late(after, "fired")
    return {
        "replicas": REPLICAS + 1,
        "timers": o.timers,
        "armed": len(timers),
        "due_before_kill": len(before),
        "due_after_kill": len(after),
        "unfired": sum(1 for t in timers if t.fired is None),
        "takeover_ms": round(fired_after[-1] * 1000, 1) if fired_after else None,
        "after_kill": _ms(fired_after),
        "before_kill": _ms(late(before, "fired")),
        "fired_after_kill": len(fired_after),
        "first_due_after_kill_ms": round((after[0].due - killed) * 1000, 1) if after else None,
        "survivors_alive": survivors_alive,
        "ack_timeout_s": o.late_ack_timeout,
        "open_window_s": o.open_window,
        "errors": failed,
    }


def rows(r: dict[str, typing.Any]) -> list[tuple[str, str, str]]:
    """The table's lines: (name, value, figure checked against its target or '')."""
    a, b = r["after_kill"], r["before_kill"]

    def num(v: float | None) -> str:
        return "-" if v is None else f"{v:,.1f}"

    return [
        ("worst step after the kill: ", f"{num(r['takeover_ms'])} ms late", "takeover_ms"),
        (
            "after / before, p50 / p99: ",
            f"{num(a['p50_ms'])} / {num(a['p99_ms'])} ms vs {num(b['p50_ms'])} / {num(b['p99_ms'])} ms",
            "",
        ),
        (
            "",
            f"{r['due_after_kill']} of {r['armed']} timers due after kill -9 of 1 of {r['replicas']} replicas; "
            f"{r['unfired']} never fired",
            "",
        ),
    ]
