"""Prometheus Alertmanager as the yardstick for `pager bench --vs-alertmanager`.

Debian's `prometheus-alertmanager` is started the way a comparison needs it:
one instance (clustering off), a null receiver (nothing is sent anywhere),
silences and notification log in a temporary directory, alerts in memory, a
free port. Each alert batch carries a label of its own that the route groups
by, so every batch (or single alert) is a new aggregation group there, as it is
a new incident in pager.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time
import typing

import aiohttp
import yaml

from pager.bench import load

BINARY = "/usr/bin/prometheus-alertmanager"
GROUP_LABEL = "g"


@dataclasses.dataclass(frozen=True)
class Running:
    url: str
    pid: int
    version: str


def find(binary: str | None = None) -> str | None:
    """The Alertmanager to run, or None: the one given, else Debian's, else one on PATH."""
    if binary is not None:
        return binary if os.access(binary, os.X_OK) else None
    if os.access(BINARY, os.X_OK):
        return BINARY
    return shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


def config() -> dict[str, typing.Any]:
    return {
        "route": {
            "receiver": "null",
            "group_by": [GROUP_LABEL],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
        },
        "receivers": [{"name": "null"}],
    }


def version(binary: str) -> str:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unknown ({exc})"
    first = (out.stdout or out.stderr).strip().splitlines()
    return first[0] if first else "unknown"


@contextlib.asynccontextmanager
async def running(binary: str, port: int, *, ready_timeout: float = 30.0) -> typing.AsyncIterator[Running]:
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="pager-bench-am-"))
    proc: subprocess.Popen[bytes] | None = None
    try:
        cfg = workdir / "alertmanager.yml"
        cfg.write_text(yaml.safe_dump(config(), sort_keys=False))
        log = open(workdir / "alertmanager.log", "wb")
        listen = f"127.0.0.1:{port}"
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={cfg}",
                f"--storage.path={workdir / 'data'}",
                f"--web.listen-address={listen}",
                "--cluster.listen-address=",  # no HA peers: one instance, as pager runs one here
                "--log.level=warn",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )
        log.close()
        url = f"http://{listen}"
        deadline = time.monotonic() + ready_timeout
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            while True:
                if proc.poll() is not None:
                    tail = (workdir / "alertmanager.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"alertmanager exited with status {proc.returncode}:\n{tail}")
                try:
                    async with session.get(f"{url}/-/ready") as r:
                        if r.status == 200:
                            break
                except (TimeoutError, aiohttp.ClientError):
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"alertmanager did not become ready within {ready_timeout:g}s")
                await asyncio.sleep(0.1)
        yield Running(url, proc.pid, version(binary))
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(proc.wait, 10)
            except subprocess.TimeoutExpired:
                proc.kill()
                await asyncio.to_thread(proc.wait)
        shutil.rmtree(workdir, ignore_errors=True)


def alerts_body(alerts: typing.Sequence[dict[str, str]], marker: str = "@@KEY@@") -> load.Body:
    """POST /api/v2/alerts: these alerts, firing, each labelled `g=<key>` (the batch's own group)."""
    body = [
        {
            "labels": {**labels, GROUP_LABEL: marker},
            "annotations": {"summary": f"{labels.get('alertname', 'Bench')} on {labels.get('instance', '-')}"},
            "startsAt": "2026-11-22T17:51:43.607770712Z",
            "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
        }
        for labels in alerts
    ]
    make = load.template(body, marker)
    return lambda i: make(str(i))
