"""Every replica hears of new incidents and queued pages, whichever priority, once they are committed.

Since 0095 a new incident, and a P2/P3 page the engine queues, are announced after COMMIT in a
transaction of their own (db.announce) instead of by a NOTIFY inside the data's transaction, and
the payload names the lane to wake: 'urgent' (P0/P1) or 'routine' (P2/P3). Another replica (here:
a LISTEN connection, as the urgent worker's) must hear every kind, and a repeat that changes
nothing wakes nobody.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import typing

from pager import clock, engine, metrics, models
from pager.store import db, escalations, ingest
from tests import support

T0 = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)
QUIET = 0.3  # seconds a listener waits to be sure nothing came


def group(key: str, priority: models.Priority, fp: str = "a") -> ingest.Group:
    a = models.Alert(key, fp, models.Action.TRIGGER, f"disk {key}", {"host": fp}, {})
    return ingest.Group("web", key, "web", [models.Classified(a, "web", priority, "classification[0]")])


@contextlib.asynccontextmanager
async def heard(database_url: str, channel: str) -> typing.AsyncIterator[asyncio.Queue[str]]:
    conn = await db.connect(database_url)
    queue: asyncio.Queue[str] = asyncio.Queue()
    await conn.add_listener(channel, lambda _conn, _pid, _channel, payload: queue.put_nowait(payload))
    try:
        yield queue
    finally:
        await conn.close()


async def notified(queue: asyncio.Queue[str], timeout: float = 5.0) -> str | None:
    """The next notification's payload: the lane it wakes (pager.lanes.named); None when none came."""
    try:
        return await asyncio.wait_for(queue.get(), timeout)
    except TimeoutError:
        return None


async def test_new_incidents_of_every_priority_are_heard_and_a_repeat_is_not(pool, database_url):
    ingester = ingest.Ingester(pool)
    async with heard(database_url, "pager_incidents") as queue:
        await ingester.ingest("prod-am", [group("p3", models.Priority.P3)], T0)
        assert await notified(queue) == "routine", "a new P3 incident (one group: pager_ingest) was not announced"
        await ingester.ingest("prod-am", [group("p2-a", models.Priority.P2), group("p2-b", models.Priority.P2)], T0)
        assert await notified(queue) == "routine", "new P2 incidents (a batch: pager_ingest_many) were not announced"
        await ingester.ingest("prod-am", [group("p0", models.Priority.P0)], T0)
        assert await notified(queue) == "urgent", "a new P0 incident (pager_ingest) did not wake the P0/P1 lane"
        await ingester.ingest("prod-am", [group("p1-a", models.Priority.P1), group("p1-b", models.Priority.P1)], T0)
        assert await notified(queue) == "urgent", "new P1 incidents (pager_ingest_many) did not wake the P0/P1 lane"
        await asyncio.sleep(QUIET)
        while not queue.empty():
            queue.get_nowait()
        await ingester.ingest("prod-am", [group("p3", models.Priority.P3)], T0 + datetime.timedelta(seconds=1))
        assert await notified(queue, QUIET) is None, "a repeat that changed nothing woke the other replicas"


async def test_a_p3_page_the_engine_queues_is_heard_by_other_senders(pool, database_url):
    settings = support.settings(
        """
priorities:
  P3: {channels: [console]}
notifiers:
  console: {enabled: true}
"""
    )
    await ingest.Ingester(pool).ingest("prod-am", [group("p3", models.Priority.P3)], T0)
    eng = engine.Engine(settings, escalations.Escalations(pool), clock.ManualClock(T0), metrics.Metrics())
    async with heard(database_url, "pager_outbox") as queue:
        assert await eng.tick() == 1
        assert await pool.fetchval("SELECT count(*) FROM notifications WHERE priority = 3") == 1
        assert await notified(queue) == "routine", "the P3 page was not announced to the senders' P2/P3 lane"


async def test_a_p0_page_the_engine_queues_wakes_the_senders_p0_lane(pool, database_url):
    settings = support.settings(
        """
priorities:
  P0: {channels: [console]}
notifiers:
  console: {enabled: true}
"""
    )
    await ingest.Ingester(pool).ingest("prod-am", [group("p0", models.Priority.P0)], T0)
    eng = engine.Engine(settings, escalations.Escalations(pool), clock.ManualClock(T0), metrics.Metrics())
    async with heard(database_url, "pager_outbox") as queue:
        assert await eng.tick() == 1
        assert await notified(queue) == "urgent", "the P0 page did not wake the senders' P0/P1 lane"


async def test_a_failing_wake_up_here_neither_fails_the_answer_nor_the_announcement(pool, database_url):
    def broken(_payload: str) -> None:
        raise RuntimeError("a bug in waking this replica")

    ingester = ingest.Ingester(pool, on_opened=broken)
    async with heard(database_url, "pager_incidents") as queue:
        [result] = await ingester.ingest("prod-am", [group("p0", models.Priority.P0)], T0)
        assert result.created and result.status == "triggered"
        assert await notified(queue) == "urgent", "the other replicas were not told of the P0"
