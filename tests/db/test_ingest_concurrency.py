"""Many senders at once: concurrent single-group ingests share commits, and each still gets its own answer.

pager commits the groups of concurrent requests together (one statement, one fsync) to keep up with
thousands of single events a second; these tests pin what that must never change for a sender.
"""

from __future__ import annotations

import asyncio
import datetime

import pytest

from pager import models
from pager.store import ingest, store
from tests import support
from tests.support import faults, http

NOW = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture
def batch_sizes(monkeypatch):
    """The sizes of the statements the coalescer ran, so a test knows it exercised a shared commit."""
    sizes: list[int] = []
    together = ingest._Coalescer._together

    async def spy(self, conn, batch):
        sizes.append(len(batch))
        return await together(self, conn, batch)

    monkeypatch.setattr(ingest._Coalescer, "_together", spy)
    return sizes


def group(key: str, *fingerprints: str, priority: int = 0, summary: str = "disk full") -> ingest.Group:
    alerts = [
        models.Classified(models.Alert(key, fp, models.Action.TRIGGER, summary), "web", priority, "classification[0]")
        for fp in fingerprints or (key,)
    ]
    return ingest.Group("web", key, None, alerts)


async def test_concurrent_events_each_open_their_own_incident_and_answer_with_their_own_key(make_client, batch_sizes):
    client = await make_client()
    keys = [f"host-{i}" for i in range(120)]
    responses = await asyncio.gather(*(http.enqueue(client, support.event("trigger", k, summary=k)) for k in keys))
    assert [r.status for r in responses] == [202] * len(keys)
    assert [(await r.json())["dedup_key"] for r in responses] == keys
    opened = await http.incidents(client, limit=1000)
    assert sorted((i["dedup_key"], i["summary"], i["alert_count"]) for i in opened) == sorted((k, k, 1) for k in keys)
    assert max(batch_sizes) > 1


async def test_each_caller_gets_the_incident_of_its_own_group(pool, batch_sizes):
    s = store.Store(pool)
    keys = [f"k{(i * 37) % 50:02d}" for i in range(50)]  # not in the order the shared statement locks them
    results = await asyncio.gather(*(s.ingest("prod-events", [group(k)], NOW) for k in keys))
    assert max(batch_sizes) > 1
    by_id = {r["id"]: r["dedup_key"] for r in await pool.fetch("SELECT id, dedup_key FROM incidents")}
    assert [by_id[r[0].incident_id] for r in results] == keys
    assert all(r[0].created and r[0].dedup_key == k for r, k in zip(results, keys))


async def test_triggers_for_one_key_in_one_shared_commit_open_one_incident(pool, batch_sizes):
    s = store.Store(pool)
    results = await asyncio.gather(*(s.ingest("prod-events", [group("same", f"fp{i % 5}")], NOW) for i in range(40)))
    assert max(batch_sizes) > 1
    assert len({r[0].incident_id for r in results}) == 1
    assert sum(r[0].created for r in results) == 1
    assert await pool.fetchval("SELECT alert_count FROM incidents") == 5
    assert await pool.fetchval("SELECT count(*) FROM incident_log WHERE kind = 'triggered'") == 1


async def test_a_group_that_cannot_be_stored_fails_alone(pool, batch_sizes):
    s = store.Store(pool)
    bad = group("bad", priority=70000)  # out of range for the column: the shared statement fails
    groups = [group(f"good-{i}") for i in range(20)]
    groups.insert(10, bad)
    results = await asyncio.gather(*(s.ingest("prod-events", [g], NOW) for g in groups), return_exceptions=True)
    assert max(batch_sizes) > 1
    failed = [g.dedup_key for g, r in zip(groups, results) if isinstance(r, BaseException)]
    assert failed == ["bad"]
    stored = {r["dedup_key"] for r in await pool.fetch("SELECT dedup_key FROM incidents")}
    assert stored == {f"good-{i}" for i in range(20)}


async def test_a_database_outage_fails_every_waiting_event_and_none_is_half_stored(make_client, database_url):
    async with faults.proxy(database_url) as proxy:
        client = await make_client(database_url=proxy.url)
        keys = [f"svc-{i}" for i in range(30)]
        await proxy.cut()
        during = await asyncio.gather(*(http.enqueue(client, support.event("trigger", k)) for k in keys))
        assert {r.status for r in during} == {503}
        await proxy.restore()
        retried = await asyncio.gather(*(http.enqueue(client, support.event("trigger", k)) for k in keys))
        assert {r.status for r in retried} == {202}
        assert sorted(i["dedup_key"] for i in await http.incidents(client, limit=1000)) == sorted(keys)


async def test_nul_in_an_event_is_stored_as_a_replacement_character(make_client):
    client = await make_client()
    resp = await http.enqueue(
        client, support.event("trigger", "k", summary="disk\u0000full", custom_details={"n": "a\u0000"})
    )
    assert resp.status == 202, await resp.text()
    [inc] = await http.incidents(client)
    assert inc["summary"] == "disk\ufffdfull"
