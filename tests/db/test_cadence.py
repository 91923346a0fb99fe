"""Status-update reminders and the stability window as durable timers, through the engine and PostgreSQL.

The clock is a fake one; engines are ticked by hand, several at once where it matters.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import typing

from pager import clock, engine, metrics, models, updates
from pager.store import db, escalations, store
from tests import support

START = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)
MIN = datetime.timedelta(minutes=1)

CADENCE = """
priorities:
  P0: {channels: [sms, email], update_every: 30m, stable_for: 15m, ack_within: 5m, resolve_within: 1h}
  P1: {channels: [email]}
  P2: {channels: [email]}
stakeholders:
  - {id: leadership, emails: [cto@example.com], priorities: [P0]}
notifiers:
  email: {host: 127.0.0.1, port: 9, from: pager@example.com}
"""
ENV = {**support.ENV}


def settings() -> typing.Any:
    return support.settings(CADENCE, ENV)


def names(user_id: str) -> str | None:
    user = settings().config.user(user_id)
    return user.display_name if user else None


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


async def reminders(pool: db.Pool, incident_id: int) -> list[tuple[str, str, int]]:
    rows = await pool.fetch(
        "SELECT user_id, channel, round FROM notifications WHERE incident_id = $1 AND step = $2 ORDER BY round, user_id,"
        " channel",
        incident_id,
        models.REMINDER_STEP,
    )
    return [(r["user_id"], r["channel"], r["round"]) for r in rows]


async def kinds(pool: db.Pool, incident_id: int, kind: str) -> list[str]:
    rows = await pool.fetch(
        "SELECT message FROM incident_log WHERE incident_id = $1 AND kind = $2 ORDER BY id", incident_id, kind
    )
    return [r["message"] for r in rows]


def overdue_count(m: metrics.Metrics) -> float:
    labels = {"service": "web", "priority": "P0"}
    return m.registry.get_sample_value("pager_status_updates_overdue_total", labels) or 0.0


def at(minutes: int) -> int:
    return int((START + minutes * MIN).timestamp())


async def test_nobody_acknowledged_reminds_whoever_step_1_pages_every_30_minutes(pool):
    fake = clock.ManualClock(START)
    m = metrics.Metrics()
    settings_ = support.settings(
        CADENCE.replace("channels: [sms, email], update_every", "channels: [email], escalate: false, update_every")
    )
    eng = engine.Engine(settings_, escalations.Escalations(pool), fake, m)
    inc = await open_incident(pool, fake.now())
    await eng.tick()
    assert await pool.fetchval("SELECT next_update_due FROM incidents WHERE id = $1", inc) == START + 30 * MIN
    for minute in (29, 30, 45, 59, 60, 75):
        await fake.set(START + minute * MIN)
        await eng.tick()
    assert await reminders(pool, inc) == [("alice", "email", at(30)), ("alice", "email", at(60))]
    assert overdue_count(m) == 2
    [first, _] = await kinds(pool, inc, "update_overdue")
    assert first == "Status update overdue: due 12:30 UTC; reminding Alice (email)"


async def test_the_commander_is_reminded_else_who_acknowledged(pool):
    fake = clock.ManualClock(START)
    st = store.Store(pool, names=names)
    eng = engine.Engine(settings(), escalations.Escalations(pool), fake, metrics.Metrics())
    inc = await open_incident(pool, fake.now())
    await eng.tick()
    await fake.set(START + MIN)
    await st.acknowledge(inc, "bob", "api", fake.now())  # bob commands now
    await fake.set(START + 30 * MIN)
    await eng.tick()
    await eng.set_roles(inc, {"commander": "carol"}, "bob", "api")
    await fake.set(START + 60 * MIN)
    await eng.tick()
    assert await reminders(pool, inc) == [("bob", "email", at(30)), ("carol", "email", at(60))]
    # sms is the priority's too, but not configured: the reminder goes by what reaches them


async def test_an_update_moves_the_next_due_and_a_promise_is_kept_to(pool):
    fake = clock.ManualClock(START)
    eng = engine.Engine(settings(), escalations.Escalations(pool), fake, metrics.Metrics())
    inc = await open_incident(pool, fake.now())
    await eng.tick()
    await fake.set(START + 20 * MIN)
    posted = await eng.post_update(inc, updates.Draft("rolling back", next_update_in=10 * MIN), "alice", "api")
    assert isinstance(posted, models.StatusUpdate) and posted.next_update_at == START + 30 * MIN
    await fake.set(START + 25 * MIN)
    posted = await eng.post_update(inc, updates.Draft("rolled back"), "alice", "api")
    assert posted.next_update_at == START + 55 * MIN  # update_every again
    for minute in (30, 50, 54):
        await fake.set(START + minute * MIN)
        await eng.tick()
    assert await reminders(pool, inc) == []
    await fake.set(START + 55 * MIN)
    await eng.tick()
    assert [r for _, _, r in await reminders(pool, inc)] == [at(55)]
    timer = await pool.fetchrow("SELECT due_at FROM timers WHERE kind = 'update_due'")
    assert timer["due_at"] == START + 85 * MIN


async def test_three_engines_never_send_the_same_reminder_twice(pool, database_url):
    fake = clock.ManualClock(START)
    m = metrics.Metrics()
    incidents = [await open_incident(pool, fake.now()) for _ in range(15)]
    async with contextlib.AsyncExitStack() as stack:
        pools = [pool]
        for _ in range(2):
            p = await db.create_pool(database_url)
            stack.push_async_callback(p.close)
            pools.append(p)
        engines = [engine.Engine(settings(), escalations.Escalations(p), fake, m, batch=2) for p in pools]
        await asyncio.gather(*(e.tick() for e in engines))
        for minute in (30, 60):
            await fake.set(START + minute * MIN)
            await asyncio.gather(*(e.tick() for e in engines))
            await asyncio.gather(*(e.tick() for e in engines))
    for inc in incidents:
        assert len(await kinds(pool, inc, "update_overdue")) == 2
        got = await reminders(pool, inc)
        assert sorted({r for _, _, r in got}) == [at(30), at(60)]
        assert len(got) == len(set(got))
    assert overdue_count(m) == 30


async def test_no_reminder_while_stabilizing_and_none_once_resolved(pool):
    fake = clock.ManualClock(START)
    st = store.Store(pool, names=names)
    eng = engine.Engine(settings(), escalations.Escalations(pool), fake, metrics.Metrics())
    inc = await open_incident(pool, fake.now())
    await eng.tick()
    await st.acknowledge(inc, "alice", "api", fake.now())
    await pool.execute(
        "UPDATE incidents SET status = 'stabilizing', recovered_at = $2, stable_until = $3 WHERE id = $1",
        inc,
        START + 25 * MIN,
        START + 40 * MIN,
    )
    await fake.set(START + 30 * MIN)
    await eng.tick()
    assert await reminders(pool, inc) == []
    assert await pool.fetchval("SELECT due_at FROM timers WHERE kind = 'update_due'") == START + 40 * MIN
    await st.resolve(inc, "alice", "api", fake.now())
    await fake.set(START + 3 * 60 * MIN)
    await eng.tick()
    assert await reminders(pool, inc) == []
    assert await pool.fetchval("SELECT count(*) FROM timers WHERE kind = 'update_due'") == 0


async def test_a_stable_window_held_resolves_the_incident_and_counts_mttr_to_recovery(pool):
    fake = clock.ManualClock(START)
    m = metrics.Metrics()
    st = store.Store(pool, names=names)
    eng = engine.Engine(settings(), escalations.Escalations(pool), fake, m)
    inc = await open_incident(pool, fake.now())
    await eng.tick()
    assert await pool.fetchval("SELECT stable_for FROM incidents WHERE id = $1", inc) == 15 * MIN
    await pool.execute(
        "UPDATE incidents SET status = 'stabilizing', recovered_at = $2, stable_until = $3 WHERE id = $1",
        inc,
        START + 20 * MIN,
        START + 35 * MIN,
    )
    await pool.execute(
        "INSERT INTO timers (kind, subject, due_at, priority, incident_id) VALUES ('stable_window', $1, $2, 0, $3)",
        str(inc),
        START + 35 * MIN,
        inc,
    )
    await fake.set(START + 34 * MIN)
    await eng.tick()
    assert (await st.get_incident(inc)).status is models.IncidentStatus.STABILIZING
    await fake.set(START + 35 * MIN)
    await eng.tick()
    done = await st.get_incident(inc)
    assert (done.status, done.resolved_at, done.resolved_by) == (
        models.IncidentStatus.RESOLVED,
        START + 35 * MIN,
        "pager",
    )
    assert await kinds(pool, inc, "resolved") == [
        "Resolved: no alert fired again for 15m after they cleared at 12:20:00 UTC"
    ]
    [times] = [r for r in await st.response_times(fake.now()) if r.window == "1d"]
    assert times.mttr == 20 * 60  # to the recovery, not to the end of the window
    assert (
        m.registry.get_sample_value("pager_time_to_resolve_seconds_sum", {"service": "web", "priority": "P0"})
        == 20 * 60
    )
    # met within resolve_within (1h) by recovering at 12:20, though it resolved later
    assert not done.breached("resolve", fake.now() + 60 * MIN)
    mail = await pool.fetch("SELECT event FROM stakeholder_mail WHERE incident_id = $1 ORDER BY id", inc)
    assert [r["event"] for r in mail] == ["declared", "all_clear"]


async def test_a_priority_raised_into_a_stakeholders_priorities_declares_it_to_them(pool):
    fake = clock.ManualClock(START)
    eng = engine.Engine(settings(), escalations.Escalations(pool), fake, metrics.Metrics())
    inc = await open_incident(pool, fake.now(), models.Priority.P2)
    await eng.tick()
    assert await pool.fetchval("SELECT count(*) FROM stakeholder_mail") == 0
    await pool.execute("UPDATE incidents SET priority = 0 WHERE id = $1", inc)
    await pool.execute(
        "INSERT INTO timers (kind, subject, due_at, priority, incident_id) VALUES ('reassess', $1, $2, 0, $3)",
        str(inc),
        START,
        inc,
    )
    await fake.set(START + MIN)
    await eng.tick()
    [mail] = await pool.fetch("SELECT event, subject, recipients FROM stakeholder_mail WHERE incident_id = $1", inc)
    assert (mail["event"], mail["recipients"]) == ("declared", ["cto@example.com"])
    assert mail["subject"] == f"[P0] Now P0: incident #{inc} on web - disk full"
    row = await pool.fetchrow("SELECT next_update_due, stable_for, stakeholders FROM incidents WHERE id = $1", inc)
    assert (row["next_update_due"], row["stable_for"], row["stakeholders"]) == (
        START + 30 * MIN,
        15 * MIN,
        ["leadership"],
    )
