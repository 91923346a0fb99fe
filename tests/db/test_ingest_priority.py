"""Priority first at ingest: a P0/P1 request never waits behind a storm of lower-priority ones.

Lower-priority statements are made to hang inside PostgreSQL for real: another transaction holds
an uncommitted incident with the same key, so their INSERT waits on its lock while holding its
pooled connection and its slot, as a slow storm statement would.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import typing

from pager import models
from pager.store import db, ingest, store

NOW = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)
BOUND = 30.0  # bound on every wait, so a broken queue fails the test instead of hanging it


def group(key: str, priority: int) -> ingest.Group:
    alert = models.Alert(key, key, models.Action.TRIGGER, f"alert {key}")
    return ingest.Group("web", key, None, [models.Classified(alert, "web", models.Priority(priority), "rule")])


@contextlib.asynccontextmanager
async def held(database_url: str, key: str) -> typing.AsyncIterator[db.Connection]:
    """An uncommitted open incident ('web', key): whoever ingests that key waits until the block ends."""
    conn = await db.connect(database_url)
    tx = conn.transaction()
    await tx.start()
    alerts = [{"f": key, "a": "trigger", "p": 3, "r": "rule", "s": "held", "l": {}, "n": {}, "b": None, "e": None}]
    await conn.fetch("SELECT * FROM pager_ingest($1, 'holder', 'web', $2, NULL, $3)", NOW, key, alerts)
    try:
        yield conn
    finally:
        with contextlib.suppress(Exception):
            await tx.rollback()
        await conn.close()


async def until_waiting_on_locks(pool: db.Pool, n: int) -> None:
    """Until `n` backends of this database wait on a lock."""
    async with asyncio.timeout(BOUND):
        while True:
            waiting = await pool.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if waiting >= n:
                return
            await asyncio.sleep(0.01)


async def incident_ids(database_url: str) -> dict[str, int]:
    conn = await db.connect(database_url)  # outside the pool: sees only what is committed
    try:
        return {r["dedup_key"]: r["id"] for r in await conn.fetch("SELECT id, dedup_key FROM incidents")}
    finally:
        await conn.close()


async def test_a_p0_queued_behind_a_storm_is_committed_while_every_storm_slot_hangs(pool, database_url):
    s = store.Store(pool)
    stuck_keys = [f"storm-stuck-{i}" for i in range(ingest.COALESCE_IN_FLIGHT)]
    async with contextlib.AsyncExitStack() as stack:
        for key in stuck_keys:
            await stack.enter_async_context(held(database_url, key))
        stuck = []
        for n, key in enumerate(stuck_keys, 1):  # one statement per slot, each hanging on its lock
            stuck.append(asyncio.ensure_future(s.ingest("prod-events", [group(key, 3)], NOW)))
            await until_waiting_on_locks(pool, n)
        queued = [
            asyncio.ensure_future(s.ingest("prod-events", [group(f"storm-queued-{i}", 3)], NOW)) for i in range(50)
        ]
        await asyncio.sleep(0)
        # Queued lower-priority requests take no pooled connection: the storm holds only its slots.
        assert pool.get_size() - pool.get_idle_size() == ingest.COALESCE_IN_FLIGHT

        [p0] = await asyncio.wait_for(s.ingest("prod-events", [group("p0", 0)], NOW), BOUND)

        assert p0.created
        committed = await incident_ids(database_url)
        assert committed["p0"] == p0.incident_id
        assert not [k for k in committed if k.startswith("storm")]  # the whole storm is still waiting
        assert not any(f.done() for f in [*stuck, *queued])
    # The holders rolled back: the storm goes through, none of it lost, all after the P0.
    results = await asyncio.wait_for(asyncio.gather(*stuck, *queued), BOUND)
    assert all(r.created for [r] in results)
    committed = await incident_ids(database_url)
    assert len(committed) == 1 + len(stuck_keys) + len(queued)
    # (The hanging statements drew their ids before they waited; the queued ones had not started.)
    assert committed["p0"] < min(v for k, v in committed.items() if k.startswith("storm-queued"))


async def test_urgent_requests_jump_the_queue_when_their_own_slot_is_busy(pool, database_url, monkeypatch):
    batches: list[list[str]] = []
    together = ingest._Coalescer._together

    async def spy(self, conn, batch):
        batches.append([g.dedup_key for w in batch for g in w.groups])
        return await together(self, conn, batch)

    monkeypatch.setattr(ingest._Coalescer, "_together", spy)
    s = store.Store(pool)
    async with contextlib.AsyncExitStack() as stack:
        stuck_keys = [(f"storm-stuck-{i}", 3) for i in range(ingest.COALESCE_IN_FLIGHT)] + [("p0-stuck", 0)]
        holders = {}
        for key, _ in stuck_keys:
            holders[key] = await stack.enter_async_context(held(database_url, key))
        stuck = []
        for n, (key, priority) in enumerate(stuck_keys, 1):
            stuck.append(asyncio.ensure_future(s.ingest("prod-events", [group(key, priority)], NOW)))
            await until_waiting_on_locks(pool, n)  # every shared slot and the urgent one, all hanging
        queued = [
            asyncio.ensure_future(s.ingest("prod-events", [group(f"storm-queued-{i}", 2)], NOW)) for i in range(20)
        ]
        p1 = asyncio.ensure_future(s.ingest("prod-events", [group("p1", 1)], NOW))
        await asyncio.sleep(0)
        await holders["storm-stuck-0"].execute("ROLLBACK")  # one shared slot comes free

        [p1_result] = await asyncio.wait_for(p1, BOUND)

        assert p1_result.created
        # The freed slot took the P1, queued last, before the twenty lower-priority requests ahead of it,
        # and in a statement of its own.
        assert batches[len(stuck)] == ["p1"]
        committed = await incident_ids(database_url)
        queued_ids = [v for k, v in committed.items() if k.startswith("storm-queued")]
        assert all(committed["p1"] < i for i in queued_ids)
    results = await asyncio.wait_for(asyncio.gather(*stuck, *queued), BOUND)
    assert all(r.created for [r] in results)


async def test_a_request_with_several_groups_is_committed_whole_and_answered_per_group(pool, database_url):
    s = store.Store(pool)
    groups = [group(f"multi-{i}", 3) for i in (2, 0, 1)]
    singles = [s.ingest("prod-events", [group(f"single-{i}", 3)], NOW) for i in range(10)]
    multi, *_ = await asyncio.gather(s.ingest("prod-events", groups, NOW), *singles)
    committed = await incident_ids(database_url)
    assert [r.incident_id for r in multi] == [committed[g.dedup_key] for g in groups]


async def test_an_unstorable_group_fails_its_whole_request_and_no_other(pool, database_url):
    s = store.Store(pool)
    bad = [group("fine-but-with-a-bad-sibling", 3), group("bad", 3)]
    bad[1] = ingest.Group("web", "bad", None, [dataclass_replace(bad[1].alerts[0], priority=70000)])
    others = [s.ingest("prod-events", [group(f"ok-{i}", 3)], NOW) for i in range(10)]
    results = await asyncio.gather(s.ingest("prod-events", bad, NOW), *others, return_exceptions=True)
    assert isinstance(results[0], db.InvalidInput)
    assert not [r for r in results[1:] if isinstance(r, BaseException)]
    committed = await incident_ids(database_url)
    assert sorted(committed) == sorted(f"ok-{i}" for i in range(10))  # none of the failed request's groups


def dataclass_replace(c: models.Classified, **changes: typing.Any) -> models.Classified:
    fields = {"alert": c.alert, "service": c.service, "priority": c.priority, "rule": c.rule, **changes}
    return models.Classified(**fields)


def test_urgency_is_a_p0_or_p1_trigger():
    def req(*pairs: tuple[int, models.Action]) -> list[ingest.Group]:
        alerts = [
            models.Classified(models.Alert("k", f"f{i}", action, "s"), "web", models.Priority(p), "rule")
            for i, (p, action) in enumerate(pairs)
        ]
        return [ingest.Group("web", "k", None, alerts)]

    assert ingest.urgent(req((0, models.Action.TRIGGER)))
    assert ingest.urgent(req((3, models.Action.TRIGGER), (1, models.Action.TRIGGER)))
    assert not ingest.urgent(req((2, models.Action.TRIGGER), (3, models.Action.TRIGGER)))
    assert not ingest.urgent(req((0, models.Action.RESOLVE)))
