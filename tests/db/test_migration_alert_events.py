"""alert_events: every accepted event as received, one row per group (0090), the events stored before kept."""

from __future__ import annotations

import datetime

from pager.store import db, embedded, migrate
from tests.support import pg

T1 = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)
T2 = T1 + datetime.timedelta(seconds=5)


async def test_events_stored_one_row_each_are_folded_into_their_groups(pg_server_url):
    name = "pager_migration_0090"
    await pg.admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
    conn = await db.connect(embedded.with_database(pg_server_url, name))
    try:
        for m in migrate.available():
            if m.version < 90:
                await conn.execute(m.sql)
        inc = await conn.fetchval(
            "INSERT INTO incidents (service, dedup_key, priority, summary, created_at, last_seen_at)"
            " VALUES ('web', 'g', 0, 'disk', $1, $1) RETURNING id",
            T1,
        )
        rows = [  # two requests for incident g (two alerts, then one), and an acknowledge for no incident
            (inc, "am", T1, "g", "fp1", "trigger", "disk 1", {"host": "a"}),
            (inc, "am", T1, "g", "fp2", "trigger", "disk 2", {"host": "b"}),
            (inc, "am", T2, "g", "fp1", "resolve", "disk 1", {"host": "a"}),
            (None, "ev", T2, "nokey", "nokey", "acknowledge", "", {}),
        ]
        await conn.executemany(
            "INSERT INTO alert_events (incident_id, integration, received_at, dedup_key, fingerprint, action,"
            " summary, labels) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            rows,
        )
        [m90] = [m for m in migrate.available() if m.version == 90]
        await conn.execute(m90.sql)
        got = await conn.fetch(
            "SELECT incident_id, integration, received_at, dedup_key, events FROM alert_events ORDER BY id"
        )
        assert [(r["incident_id"], r["integration"], r["received_at"], r["dedup_key"]) for r in got] == [
            (inc, "am", T1, "g"),
            (inc, "am", T2, "g"),
            (None, "ev", T2, "nokey"),
        ]
        assert [[(e["f"], e["a"], e["s"], e["l"]) for e in r["events"]] for r in got] == [
            [("fp1", "trigger", "disk 1", {"host": "a"}), ("fp2", "trigger", "disk 2", {"host": "b"})],
            [("fp1", "resolve", "disk 1", {"host": "a"})],
            [("nokey", "acknowledge", "", {})],
        ]
    finally:
        await conn.close()
        await pg.admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_every_accepted_event_is_kept_as_received_one_row_per_group(pool):
    from pager import models
    from pager.store import ingest, store

    def alert(fp: str, action: models.Action) -> models.Classified:
        a = models.Alert("grp", fp, action, f"disk {fp}", {"host": fp}, {"runbook": "r"})
        return models.Classified(a, "web", models.Priority.P2, "classification[0]")

    s = store.Store(pool)
    await s.ingest("prod-am", [ingest.Group("web", "grp", None, [alert("a", models.Action.TRIGGER)] * 2)], T1)
    await s.ingest("prod-am", [ingest.Group("web", "grp", None, [alert("a", models.Action.RESOLVE)])], T2)
    got = await pool.fetch("SELECT incident_id, received_at, dedup_key, events FROM alert_events ORDER BY id")
    inc = await pool.fetchval("SELECT id FROM incidents")
    assert [(r["incident_id"], r["received_at"], r["dedup_key"]) for r in got] == [(inc, T1, "grp"), (inc, T2, "grp")]
    assert [[(e["f"], e["a"], e["s"], e["l"], e["n"], e["p"]) for e in r["events"]] for r in got] == [
        [("a", "trigger", "disk a", {"host": "a"}, {"runbook": "r"}, 2)] * 2,  # a repeat is an event too
        [("a", "resolve", "disk a", {"host": "a"}, {"runbook": "r"}, 2)],
    ]
