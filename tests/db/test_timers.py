"""Durable timers (the `timers` table) through the engine, with response targets as the kinds under test.

`priorities.P0: {ack_within: 5m, resolve_within: 1h}`: when the engine first
sees a P0 it fixes the deadlines and arms one timer each; a deadline passed
unmet is one `target_breached` entry and one count, whatever the number of
engines and restarts. The clock is a fake one: an hour passes in milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import typing

from pager import clock, engine, metrics, models
from pager.store import db, escalations, store
from pager.web import keys
from tests import support
from tests.support import http

START = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)
MIN = datetime.timedelta(minutes=1)

TARGETS = """
priorities:
  P0: {channels: [console], ack_within: 5m, resolve_within: 1h}
  P1: {channels: [console]}
notifiers:
  console: {enabled: true}
postmortems: {priorities: []}  # no post-mortem due dates: only the target timers are under test
"""


def settings() -> typing.Any:
    return support.settings(TARGETS)


async def open_incident(pool: db.Pool, now: datetime.datetime, priority: models.Priority = models.Priority.P0) -> int:
    return await store.Store(pool).create_incident(
        service="web",
        policy="web",
        priority=priority,
        summary="disk full",
        labels={},
        annotations={},
        actor="test",
        now=now,
    )


async def breaches(pool: db.Pool, incident_id: int) -> list[tuple[str, str]]:
    rows = await pool.fetch(
        "SELECT message, details FROM incident_log WHERE incident_id = $1 AND kind = 'target_breached' ORDER BY id",
        incident_id,
    )
    return [(r["details"]["target"], r["message"]) for r in rows]


def counted(m: metrics.Metrics, target: str) -> float:
    labels = {"service": "web", "priority": "P0", "target": target}
    return m.registry.get_sample_value("pager_response_target_breaches_total", labels) or 0.0


async def test_unmet_targets_are_breached_once_each_at_their_deadline(pool):
    fake = clock.ManualClock(START)
    m = metrics.Metrics()
    eng = engine.Engine(settings(), escalations.Escalations(pool), fake, m)
    inc = await open_incident(pool, fake.now())
    await eng.tick()
    row = await pool.fetchrow("SELECT ack_by, resolve_by FROM incidents WHERE id = $1", inc)
    assert (row["ack_by"], row["resolve_by"]) == (START + 5 * MIN, START + 60 * MIN)
    armed = await pool.fetch("SELECT kind, due_at FROM timers WHERE incident_id = $1 ORDER BY kind", inc)
    assert [(r["kind"], r["due_at"]) for r in armed] == [
        ("ack_target", START + 5 * MIN),
        ("resolve_target", START + 60 * MIN),
    ]

    await fake.set(START + 5 * MIN - datetime.timedelta(seconds=1))
    await eng.tick()
    assert await breaches(pool, inc) == []
    await fake.set(START + 5 * MIN)
    await eng.tick()
    assert await breaches(pool, inc) == [("ack", "Response target missed: not acknowledged within 5m")]
    assert counted(m, "ack") == 1

    await fake.set(START + 2 * 60 * MIN)
    await eng.tick()
    await eng.tick()
    assert [t for t, _ in await breaches(pool, inc)] == ["ack", "resolve"]
    assert (counted(m, "ack"), counted(m, "resolve")) == (1, 1)
    assert await pool.fetchval("SELECT count(*) FROM timers") == 0


async def test_a_target_met_in_time_is_not_breached(pool):
    fake = clock.ManualClock(START)
    m = metrics.Metrics()
    eng = engine.Engine(settings(), escalations.Escalations(pool), fake, m)
    inc = await open_incident(pool, fake.now())
    await eng.tick()
    await fake.set(START + 3 * MIN)
    assert await store.Store(pool).acknowledge(inc, "alice", "api", fake.now())
    await fake.set(START + 30 * MIN)
    assert await store.Store(pool).resolve(inc, "alice", "api", fake.now())

    await fake.set(START + 2 * 60 * MIN)
    await eng.tick()
    assert await breaches(pool, inc) == []
    assert (counted(m, "ack"), counted(m, "resolve")) == (0, 0)


async def test_a_priority_without_targets_arms_no_timer(pool):
    fake = clock.ManualClock(START)
    eng = engine.Engine(settings(), escalations.Escalations(pool), fake, metrics.Metrics())
    await open_incident(pool, fake.now(), models.Priority.P1)
    await eng.tick()
    assert await pool.fetchval("SELECT count(*) FROM timers") == 0


async def test_three_engines_breach_each_target_once(pool, database_url):
    fake = clock.ManualClock(START)
    m = metrics.Metrics()
    incidents = [await open_incident(pool, fake.now()) for _ in range(20)]
    async with contextlib.AsyncExitStack() as stack:
        pools = [pool]
        for _ in range(2):
            p = await db.create_pool(database_url)
            stack.push_async_callback(p.close)
            pools.append(p)
        engines = [engine.Engine(settings(), escalations.Escalations(p), fake, m, batch=3) for p in pools]
        await asyncio.gather(*(e.tick() for e in engines))
        await fake.set(START + 2 * 60 * MIN)
        await asyncio.gather(*(e.tick() for e in engines))
    for inc in incidents:
        assert sorted(t for t, _ in await breaches(pool, inc)) == ["ack", "resolve"]
    assert (counted(m, "ack"), counted(m, "resolve")) == (20, 20)


async def test_a_timer_outlives_the_engine_that_armed_it(pool):
    fake = clock.ManualClock(START)
    first = engine.Engine(settings(), escalations.Escalations(pool), fake, metrics.Metrics())
    inc = await open_incident(pool, fake.now())
    await first.tick()
    del first  # the process is gone; its timers are rows

    await fake.set(START + 10 * MIN)
    again = engine.Engine(settings(), escalations.Escalations(pool), fake, metrics.Metrics())
    await again.tick()
    assert [t for t, _ in await breaches(pool, inc)] == ["ack"]


async def test_a_timer_of_an_unknown_kind_is_dropped_not_retried_forever(pool):
    fake = clock.ManualClock(START)
    inc = await open_incident(pool, fake.now())
    await pool.execute(
        "INSERT INTO timers (kind, subject, due_at, priority, incident_id) VALUES ('from_the_future', $1, $2, 0, $3)",
        str(inc),
        START,
        inc,
    )
    eng = engine.Engine(settings(), escalations.Escalations(pool), fake, metrics.Metrics())
    await eng.tick()
    assert await pool.fetchval("SELECT count(*) FROM timers WHERE kind = 'from_the_future'") == 0
    assert await eng.store.next_due() == START + 5 * MIN  # the escalation's own timer, nothing older


async def test_the_api_shows_the_targets_and_whether_they_were_missed(make_client, pool):
    fake = clock.ManualClock(START)
    client = await make_client(settings(), clock=fake)
    inc = await http.open_incident(client, priority="P0")
    await client.app[keys.ENGINE].tick()
    shown = (await http.detail(client, inc))["targets"]
    assert shown == {
        "ack_by": "2026-11-23T12:05:00Z",
        "resolve_by": "2026-11-23T13:00:00Z",
        "ack_breached": False,
        "resolve_breached": False,
    }
    await fake.set(START + 6 * MIN)
    await client.app[keys.ENGINE].tick()
    shown = (await http.detail(client, inc))["targets"]
    assert (shown["ack_breached"], shown["resolve_breached"]) == (True, False)
    [listed] = await http.incidents(client)
    assert listed["targets"] == shown
