"""How fast the web UI's pages answer with 10,000 incidents in the database (a measurement, not a test).

    .venv/bin/python -m tests.browser.timing [--incidents 10000] [--rounds 40]

Seeds incidents (most resolved, some open, two alerts and a timeline each) into a fresh database
(PAGER_TEST_DATABASE_URL's server, else an embedded PostgreSQL), signs in, then times each page
over real HTTP on loopback and prints the median and p95 per page. Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import pathlib
import statistics
import tempfile
import time

from aiohttp import test_utils

from pager import daemon
from pager.store import db, embedded
from tests import support
from tests.support import pg, ui

SEED = """
INSERT INTO incidents (service, dedup_key, status, priority, summary, labels, annotations, alert_count,
                       escalation_policy, escalation_step, created_at, last_seen_at,
                       acknowledged_at, acknowledged_by, resolved_at, resolved_by)
SELECT (ARRAY['checkout', 'search', 'web'])[1 + n % 3], 'k' || n,
       CASE WHEN n > $1 - $2 THEN (CASE WHEN n % 2 = 0 THEN 'acknowledged' ELSE 'triggered' END) ELSE 'resolved' END,
       n % 4, 'synthetic incident ' || n || ': error rate above threshold on host-' || (n % 97),
       jsonb_build_object('alertname', 'HighErrorRate', 'host', 'host-' || (n % 97)),
       jsonb_build_object('runbook_url', 'https://runbooks.example.com/high-error-rate'), 2,
       'web', 0, $3::timestamptz - make_interval(mins => $1 - n), $3::timestamptz - make_interval(mins => $1 - n),
       CASE WHEN n % 2 = 0 OR n <= $1 - $2 THEN $3::timestamptz - make_interval(mins => $1 - n) + interval '3 minutes' END,
       CASE WHEN n % 2 = 0 OR n <= $1 - $2 THEN 'alice' END,
       CASE WHEN n <= $1 - $2 THEN $3::timestamptz - make_interval(mins => $1 - n) + interval '40 minutes' END,
       CASE WHEN n <= $1 - $2 THEN 'bob' END
  FROM generate_series(1, $1) AS n;
INSERT INTO alerts (incident_id, fingerprint, status, priority, summary, labels, annotations, first_seen_at, last_seen_at)
SELECT i.id, 'f' || a, CASE WHEN i.status = 'resolved' THEN 'resolved' ELSE 'firing' END, i.priority, i.summary,
       i.labels || jsonb_build_object('replica', a), i.annotations, i.created_at, i.last_seen_at
  FROM incidents i, generate_series(1, 2) AS a;
INSERT INTO incident_log (incident_id, at, kind, actor, message)
SELECT i.id, i.created_at, k.kind, k.actor, k.kind || ' ' || i.id
  FROM incidents i, (VALUES ('triggered', 'integration:prod-am'), ('escalated', 'pager'), ('paged', 'pager')) AS k(kind, actor);
ANALYZE;
"""


async def _seed(url: str, incidents: int, open_: int) -> None:
    now = datetime.datetime.now(datetime.UTC)
    conn = await db.connect(url)
    try:
        for statement in SEED.split(";\n"):
            if statement.strip():
                await conn.execute(statement, *([incidents, open_, now] if "$1" in statement else []))
    finally:
        await conn.close()


async def _time(client: test_utils.TestClient, path: str, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        resp = await client.get(path)
        await resp.read()
        out.append((time.perf_counter() - start) * 1000)
        assert resp.status == 200, (path, resp.status)
    return out


async def _stream_first(client: test_utils.TestClient, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        resp = await client.get("/events?after=0")
        await resp.content.readuntil(b"\n\n")  # retry:
        await resp.content.readuntil(b"\n\n")  # the first incident
        out.append((time.perf_counter() - start) * 1000)
        resp.close()
    return out


async def main(server_url: str, incidents: int, open_: int, rounds: int) -> None:
    name = f"pager_ui_timing_{os.getpid()}"
    await pg.build_template(server_url, name)
    url = embedded.with_database(server_url, name)
    try:
        await _seed(url, incidents, open_)
        app = daemon.create_app(support.settings(), database_url=url, run_engine=False)
        async with test_utils.TestClient(test_utils.TestServer(app)) as client:
            await ui.sign_in(client)
            middle = incidents // 2
            pages = {
                "/ (open, first page)": "/",
                "/?status=all": "/?status=all",
                "/?status=all&cursor=<middle>": f"/?status=all&cursor={middle}",
                "/?status=resolved&service=search&priority=P3": "/?status=resolved&service=search&priority=P3",
                "/incidents/{id} (resolved, 2 alerts)": f"/incidents/{middle}",
                "/incidents/{id} (open)": f"/incidents/{incidents}",
                "/oncall": "/oncall",
            }
            print(f"{incidents} incidents ({open_} open), {rounds} requests per page after 3 warm-up requests")
            print(f"{'page':48} {'median ms':>10} {'p95 ms':>8}")
            for label, path in pages.items():
                await _time(client, path, 3)
                got = sorted(await _time(client, path, rounds))
                print(f"{label:48} {statistics.median(got):10.1f} {got[int(len(got) * 0.95) - 1]:8.1f}")
            got = sorted(await _stream_first(client, rounds))
            label = "/events (connect to the first event)"
            print(f"{label:48} {statistics.median(got):10.1f} {got[int(len(got) * 0.95) - 1]:8.1f}")
    finally:
        await pg.admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--open", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    server_url = os.environ.get("PAGER_TEST_DATABASE_URL")
    if server_url:
        asyncio.run(main(server_url, args.incidents, args.open, args.rounds))
        return
    with tempfile.TemporaryDirectory(prefix="pager-ui-timing-") as tmp:
        os.chmod(tmp, 0o755)
        server = embedded.Embedded(pathlib.Path(tmp), delete_on_stop=True)
        try:
            asyncio.run(main(server.url, args.incidents, args.open, args.rounds))
        finally:
            server.stop()


if __name__ == "__main__":
    run()
