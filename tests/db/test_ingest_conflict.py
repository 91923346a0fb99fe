"""A deadlock with another transaction costs a retry, not a 503: the batch PostgreSQL rolled back runs again."""

from __future__ import annotations

import asyncio
import datetime

from pager import models
from pager.store import db, ingest

T0 = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)


def group(key: str, fp: str) -> ingest.Group:
    a = models.Alert(key, fp, models.Action.TRIGGER, f"disk {fp}", {"host": fp}, {})
    return ingest.Group("web", key, None, [models.Classified(a, "web", models.Priority.P3, "classification[0]")])


async def test_a_batch_chosen_as_the_deadlock_victim_is_committed_on_its_retry(pool, database_url):
    ingester = ingest.Ingester(pool)
    await ingester.ingest("prod-am", [group("a", "a1"), group("b", "b1")], T0)

    other = await db.connect(database_url)
    try:
        tx = other.transaction()
        await tx.start()
        await other.execute("SELECT 1 FROM incidents WHERE dedup_key = 'b' FOR UPDATE")
        # One request of two groups on existing incidents: pager_ingest_many locks a, then waits for b.
        batch = asyncio.ensure_future(
            ingester.ingest("prod-am", [group("a", "a2"), group("b", "b2")], T0 + datetime.timedelta(seconds=1))
        )
        for _ in range(500):
            waiting = await other.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if waiting:
                break
            await asyncio.sleep(0.01)
        assert waiting == 1, "the batch never waited for the lock on b"
        # Now the other transaction wants a: a deadlock. The batch waited first, so PostgreSQL's check
        # (deadlock_timeout later) finds it first and rolls it back; the other one then gets a.
        await other.execute("SELECT 1 FROM incidents WHERE dedup_key = 'a' FOR UPDATE")
        await tx.commit()
        results = await asyncio.wait_for(batch, 30)
    finally:
        await other.close()

    assert [(r.dedup_key, r.created, r.status) for r in results] == [
        ("a", False, "triggered"),
        ("b", False, "triggered"),
    ]
    assert await pool.fetchval("SELECT count(*) FROM alerts") == 4
    assert await pool.fetchval("SELECT count(*) FROM alert_events") == 4
