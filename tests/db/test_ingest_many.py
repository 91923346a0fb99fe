"""pager_ingest_many writes new incidents set-based; it must leave exactly what pager_ingest, group by group, does.

The same batch goes into two fresh databases: once as one pager_ingest_many statement, once as one
pager_ingest call per group in the order pager_ingest_many promises for the others ((service, key),
then place in the batch). Incidents, alerts, events, timeline and answers must be the same.
"""

from __future__ import annotations

import asyncio
import datetime
import typing
import uuid

from pager.store import db, embedded
from tests.support import pg

T0 = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)
T1 = T0 + datetime.timedelta(seconds=1)


def alert(fp: str, action: str = "trigger", priority: int = 3, **labels: str) -> dict[str, typing.Any]:
    return {
        "f": fp,
        "a": action,
        "p": priority,
        "r": f"classification[{priority}]",
        "s": f"summary {fp}",
        "l": labels or {"fp": fp},
        "n": {"runbook": f"https://r/{fp}"},
        "b": "2026-11-23T11:59:00+00:00",
        "e": None,
    }


def doc(key: str, *alerts: dict[str, typing.Any], service: str = "web", policy: str | None = "web", at=T1):
    return {"t": at.isoformat(), "i": "prod-am", "s": service, "k": key, "p": policy, "a": list(alerts)}


BEFORE = [  # already there when the batch arrives
    doc("existing", alert("e1"), at=T0),
    doc("acked", alert("a1"), at=T0),
]
BATCH = [
    doc("new-1", alert("n1", priority=2), alert("n2", priority=0), alert("n3", priority=0)),  # top: n2
    doc("existing", alert("e1"), alert("e2", priority=1)),  # a repeat and a new alert raising the priority
    doc("twice", alert("t1")),
    doc("new-2", alert("m1"), service="db", policy=None),  # no policy: no timer
    doc("twice", alert("t2")),  # the same key twice in one batch: one incident, two alerts
    doc("dup-fp", alert("d1"), alert("d1")),  # one fingerprint twice: not the fast path
    doc("mixed", alert("x1"), alert("x2", "resolve")),
    doc("gone", alert("g1", "resolve")),  # a resolve for nothing: ignored, still an event
    doc("acked", alert("a2", priority=2)),  # a new alert on an acknowledged incident: a notice
    doc("new-3", alert("o1", priority=1)),
    # issue 12's blast radius: two firing alerts matching a min_firing 2 rule rank the new incident P0,
    # so the group is no simple case either
    doc("blast", *({**alert(f"b{n}"), "m": [{"r": "classification[0]", "n": 2, "p": 0}]} for n in (1, 2))),
]


async def _fresh(pg_server_url: str, pg_template: str) -> tuple[str, db.Connection]:
    name = f"pager_many_{uuid.uuid4().hex[:8]}"
    await pg.admin(pg_server_url, f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    conn = await db.connect(embedded.with_database(pg_server_url, name))
    for d in BEFORE:
        await conn.fetch("SELECT * FROM pager_ingest_many($1::jsonb)", [d])
    await conn.execute(
        "UPDATE incidents SET status = 'acknowledged', acknowledged_by = 'alice' WHERE dedup_key = 'acked'"
    )
    return name, conn


async def _state(conn: db.Connection) -> dict[str, list[typing.Any]]:
    def rows(records: list[db.Record]) -> list[tuple[typing.Any, ...]]:
        return [tuple(r.values()) for r in records]

    return {
        "incidents": rows(
            await conn.fetch(
                "SELECT id, service, dedup_key, integration, status, priority, priority_rule, summary, labels,"
                " annotations, alert_count, escalation_policy, next_escalation_at, created_at, last_seen_at"
                " FROM incidents ORDER BY id"
            )
        ),
        "alerts": rows(await conn.fetch("SELECT * FROM alerts ORDER BY incident_id, fingerprint")),
        "events": rows(
            await conn.fetch(
                "SELECT incident_id, integration, received_at, dedup_key, events FROM alert_events ORDER BY id"
            )
        ),
        "log": rows(
            await conn.fetch("SELECT incident_id, at, kind, actor, message, details FROM incident_log ORDER BY id")
        ),
    }


async def test_one_statement_leaves_what_group_by_group_leaves(pg_server_url, pg_template):
    many_db, many = await _fresh(pg_server_url, pg_template)
    one_db, one = await _fresh(pg_server_url, pg_template)
    try:
        answered = await many.fetch("SELECT * FROM pager_ingest_many($1::jsonb)", BATCH)
        by_ord = {r["ord"]: {k: v for k, v in r.items() if k != "ord"} for r in answered}
        assert sorted(by_ord) == list(range(1, len(BATCH) + 1))

        # What pager_ingest_many does with the new, distinct, firing groups first, and the rest after.
        fast = [1, 4, 10]  # new-1, new-2, new-3 (twice, dup-fp and mixed are not the simple case)
        rest = sorted(
            (i for i in range(1, len(BATCH) + 1) if i not in fast),
            key=lambda i: (BATCH[i - 1]["s"], BATCH[i - 1]["k"], i),
        )
        expected = {}
        async with one.transaction():
            for i in sorted(fast, key=lambda i: (BATCH[i - 1]["s"], BATCH[i - 1]["k"])) + rest:
                d = BATCH[i - 1]
                row = await one.fetchrow(
                    "SELECT * FROM pager_ingest($1, $2, $3, $4, $5, $6)",
                    datetime.datetime.fromisoformat(d["t"]),
                    d["i"],
                    d["s"],
                    d["k"],
                    d["p"],
                    d["a"],
                )
                expected[i] = dict(row)
        assert {i: {k: v for k, v in r.items() if k != "incident_id"} for i, r in by_ord.items()} == {
            i: {k: v for k, v in r.items() if k != "incident_id"} for i, r in expected.items()
        }
        assert await _state(many) == await _state(one)
        state = await _state(many)
        assert [(r[2], r[4], r[5]) for r in state["incidents"]] == [
            ("existing", "triggered", 1),
            ("acked", "acknowledged", 2),
            ("new-2", "triggered", 3),
            ("new-1", "triggered", 0),
            ("new-3", "triggered", 1),
            ("blast", "triggered", 0),
            ("dup-fp", "triggered", 3),
            ("mixed", "triggered", 3),
            ("twice", "triggered", 3),
        ]
        assert by_ord[9]["notice_seq"] is not None and by_ord[9]["notify_user"] == "alice"
        assert by_ord[8]["status"] == "ignored"
        assert by_ord[3]["created"] != by_ord[5]["created"]  # one of the two 'twice' groups opened it
    finally:
        await many.close()
        await one.close()
        for name in (many_db, one_db):
            await pg.admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_a_new_incident_opened_meanwhile_by_another_transaction_is_joined_not_duplicated(pool):
    async with pool.acquire() as other:
        tx = other.transaction()
        await tx.start()
        await other.fetch("SELECT * FROM pager_ingest_many($1::jsonb)", [doc("race", alert("r1"))])
        async with pool.acquire() as conn:
            waiting = asyncio.ensure_future(
                conn.fetch(
                    "SELECT * FROM pager_ingest_many($1::jsonb)", [doc("race", alert("r2")), doc("calm", alert("c1"))]
                )
            )
            async with asyncio.timeout(30):  # until it waits on the other transaction's uncommitted incident
                while not await pool.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
                ):
                    await asyncio.sleep(0.01)
            await tx.commit()
            rows = {r["ord"]: r for r in await asyncio.wait_for(waiting, 30)}
    assert rows[1]["created"] is False and rows[2]["created"] is True
    assert await pool.fetchval("SELECT count(*) FROM incidents WHERE dedup_key = 'race'") == 1
    assert await pool.fetchval("SELECT alert_count FROM incidents WHERE dedup_key = 'race'") == 2
