"""End to end with the real Prometheus Alertmanager as the client.

pager listens on a real TCP port; an `alertmanager` subprocess (Debian package
`prometheus-alertmanager`, binary /usr/bin/prometheus-alertmanager) is pointed
at it through both of its receivers users actually configure: a `webhook_configs`
entry with a bearer token, and a `pagerduty_configs` entry whose `url` is
pager's `/v2/enqueue`. An alert posted to Alertmanager's API must open one
incident per path; resolving it in Alertmanager must resolve both.

Skipped when no alertmanager binary is installed.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import pathlib
import shutil
import signal
import socket
import subprocess
import time
import typing

import aiohttp
import pytest
import yaml
from aiohttp import web

from pager import config, daemon

ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")

pytestmark = pytest.mark.skipif(
    ALERTMANAGER is None,
    reason="Prometheus Alertmanager is not installed (no `prometheus-alertmanager` or `alertmanager` on PATH; "
    "on Debian/Ubuntu: apt-get install prometheus-alertmanager)",
)

AM_TOKEN = "secret-token-123"
ROUTING_KEY = "0123456789abcdef0123456789abcdef"  # 32 characters, like a PagerDuty integration key
API_TOKEN = "api-token-for-the-peer-test"
SUMMARY = "5xx rate above 5% on checkout"
RUNBOOK = "https://runbooks.example.com/checkout-5xx"
LABELS = {"alertname": "HighErrorRate", "service": "checkout", "severity": "critical"}
# Alertmanager's group key for a receiver on the root route grouped by [alertname, service].
GROUP_KEY = '{}:{alertname="HighErrorRate", service="checkout"}'
WAIT = 30.0  # bound on every wait

PAGER_CONFIG = """
api_tokens_env: [PAGER_API_TOKEN]
services:
  - {id: unrouted}
  - {id: checkout, matchers: ['service="checkout"']}
integrations:
  - {id: prod-am, type: alertmanager, token_env: PAGER_AM_TOKEN, service: unrouted}
  - {id: prod-pd, type: events_v2, token_env: PAGER_PD_KEY, service: unrouted}
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rfc3339(t: datetime.datetime) -> str:
    return t.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


def _alertmanager_config(pager_port: int) -> dict[str, typing.Any]:
    base = f"http://127.0.0.1:{pager_port}"
    return {
        "route": {
            "receiver": "pager",
            "group_by": ["alertname", "service"],
            "group_wait": "0s",
            "group_interval": "1s",
            "repeat_interval": "1h",
        },
        "receivers": [
            {
                "name": "pager",
                "webhook_configs": [
                    {
                        "url": f"{base}/v1/webhooks/alertmanager",
                        "send_resolved": True,
                        "http_config": {"authorization": {"credentials": AM_TOKEN}},
                    }
                ],
                "pagerduty_configs": [{"url": f"{base}/v2/enqueue", "routing_key": ROUTING_KEY, "send_resolved": True}],
            }
        ],
    }


class Peer:
    """A running alertmanager subprocess, its base URL and its log."""

    def __init__(self, proc: subprocess.Popen[bytes], url: str, log: pathlib.Path) -> None:
        self.proc, self.url, self.log = proc, url, log

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def failures(self) -> list[str]:
        """Log lines where a notification to pager failed (pager answered 4xx/5xx or could not be reached)."""
        return [
            line
            for line in self.log_text().splitlines()
            if "level=error" in line or ("level=warn" in line and "otify" in line)
        ]

    def delivered(self, integration: str) -> int:
        """How many notifications alertmanager reports as delivered through `integration` (e.g. webhook[0])."""
        return sum(
            f"integration={integration} " in line and 'msg="Notify success"' in line
            for line in self.log_text().splitlines()
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def _start_alertmanager(tmp_path: pathlib.Path, pager_port: int) -> Peer:
    assert ALERTMANAGER is not None
    cfg_file = tmp_path / "alertmanager.yml"
    cfg_file.write_text(yaml.safe_dump(_alertmanager_config(pager_port), sort_keys=False))
    storage = tmp_path / "am-data"
    storage.mkdir()
    port = _free_port()
    log = tmp_path / "alertmanager.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                ALERTMANAGER,
                f"--config.file={cfg_file}",
                f"--storage.path={storage}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",  # empty: no gossip, a single instance
                "--log.level=debug",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    return Peer(proc, f"http://127.0.0.1:{port}", log)


async def _until(
    what: str, probe: typing.Callable[[], typing.Awaitable[typing.Any]], peer: Peer, timeout: float = WAIT
) -> typing.Any:
    """Call `probe` until it returns something truthy; fail after `timeout` with alertmanager's log."""
    deadline = time.monotonic() + timeout
    last: typing.Any = None
    while time.monotonic() < deadline:
        if peer.proc.poll() is not None:
            pytest.fail(f"alertmanager exited with {peer.proc.returncode} while waiting for {what}:\n{peer.log_text()}")
        last = await probe()
        if last:
            return last
        await asyncio.sleep(0.1)
    pytest.fail(
        f"timed out after {timeout:.0f}s waiting for {what}; last seen: {last!r}\nalertmanager log:\n{peer.log_text()}"
    )


async def test_alertmanager_webhook_and_pagerduty_paths_open_and_resolve_incidents(
    database_url: str, tmp_path: pathlib.Path
) -> None:
    settings = config.resolve(
        config.parse(yaml.safe_load(PAGER_CONFIG)),
        env={"PAGER_AM_TOKEN": AM_TOKEN, "PAGER_PD_KEY": ROUTING_KEY, "PAGER_API_TOKEN": API_TOKEN},
    )
    assert not settings.warnings, settings.warnings

    runner = web.AppRunner(daemon.create_app(settings, database_url=database_url))
    await runner.setup()
    peer: Peer | None = None
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        pager_port = server.sockets[0].getsockname()[1]
        pager = f"http://127.0.0.1:{pager_port}"

        peer = _start_alertmanager(tmp_path, pager_port)
        auth = {"Authorization": f"Bearer {API_TOKEN}"}
        timeout = aiohttp.ClientTimeout(total=5)
        async with aiohttp.ClientSession(timeout=timeout) as http:

            async def am_ready() -> bool:
                try:
                    async with http.get(f"{peer.url}/-/ready") as r:
                        return r.status == 200
                except aiohttp.ClientError:
                    return False

            await _until("alertmanager /-/ready", am_ready, peer)

            async def incidents(status: str | None = None) -> list[dict[str, typing.Any]]:
                params = {"status": status} if status else {}
                async with http.get(f"{pager}/api/v1/incidents", headers=auth, params=params) as r:
                    assert r.status == 200, await r.text()
                    return list((await r.json())["incidents"])

            starts = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)
            alert = {
                "labels": LABELS,
                "annotations": {"summary": SUMMARY, "runbook_url": RUNBOOK},
                "startsAt": _rfc3339(starts),
                "generatorURL": "http://prometheus.example:9090/graph?g0.expr=rate",
            }
            async with http.post(f"{peer.url}/api/v2/alerts", json=[alert]) as r:
                assert r.status == 200, await r.text()

            # --- firing: one incident per path -----------------------------------------------
            async def two_incidents() -> list[dict[str, typing.Any]] | None:
                found = await incidents()
                return found if len(found) >= 2 else None

            opened = await _until("two incidents", two_incidents, peer)
            await asyncio.sleep(1.5)  # a further group_interval: a duplicate would show up now
            opened = await incidents()
            assert not peer.failures(), "alertmanager failed to notify pager:\n" + "\n".join(peer.failures())
            by_integration = {i["integration"]: i for i in opened}
            assert len(opened) == 2 and set(by_integration) == {"prod-am", "prod-pd"}, opened

            webhook, pd = by_integration["prod-am"], by_integration["prod-pd"]
            assert webhook["dedup_key"] == GROUP_KEY
            # Alertmanager's pagerduty notifier sends the SHA-256 of the group key as dedup_key.
            assert pd["dedup_key"] == hashlib.sha256(GROUP_KEY.encode()).hexdigest()
            for inc in (webhook, pd):
                where = f"incident via {inc['integration']}: {inc}"
                assert inc["service"] == "checkout", where  # routed by matchers, not the integration default
                assert inc["status"] == "triggered", where
                assert inc["labels"].get("alertname") == "HighErrorRate", where
                assert inc["annotations"].get("runbook_url") == RUNBOOK, where
                assert inc["annotations"].get("summary") == SUMMARY, where
            assert SUMMARY in webhook["summary"], webhook
            # pagerduty_configs' default description is Alertmanager's subject line, e.g.
            # "[FIRING:1] HighErrorRate (checkout critical)"; the annotation survives above.
            assert "HighErrorRate" in pd["summary"], pd

            # --- resolved in Alertmanager: both incidents resolve ------------------------------
            alert["endsAt"] = _rfc3339(datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=1))
            async with http.post(f"{peer.url}/api/v2/alerts", json=[alert]) as r:
                assert r.status == 200, await r.text()

            async def both_resolved() -> list[dict[str, typing.Any]] | None:
                found = await incidents()
                return found if len(found) == 2 and all(i["status"] == "resolved" for i in found) else None

            resolved = await _until("both incidents resolved", both_resolved, peer)
            assert not peer.failures(), "alertmanager failed to notify pager:\n" + "\n".join(peer.failures())
            # One firing and one resolved notification per path, each accepted at the first attempt.
            assert peer.delivered("webhook[0]") == 2 and peer.delivered("pagerduty[0]") == 2, peer.log_text()
            for inc in resolved:
                assert inc["resolved_at"] is not None, inc
            assert {i["id"] for i in resolved} == {webhook["id"], pd["id"]}
            assert await incidents("open") == []

        # Checked last so that a wrong rank does not hide whether resolving works.
        # severity="critical" → P0 by the default ladder, on both paths alike: Alertmanager 0.25's
        # pagerduty_configs always sends payload.severity "error" unless configured otherwise, but the
        # alert's own severity label (lifted from custom_details.firing) is what the rules are about.
        for inc in (webhook, pd):
            assert inc["priority"] == "P0", (
                f"incident via {inc['integration']} ranked {inc['priority']} by {inc['priority_rule']}, "
                f"labels {inc['labels']}"
            )
    finally:
        if peer is not None:
            peer.stop()
        await runner.cleanup()
