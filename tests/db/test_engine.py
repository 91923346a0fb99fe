"""The durable escalation engine against a real PostgreSQL, driven by a fake clock.

Every test builds `engine.Engine` directly over `escalations.Escalations(pool)`
and a `ManualClock`, opens incidents through the store, and reads what the
engine wrote straight from the `notifications` outbox and the `incident_log`
timeline. Hours of escalation run in milliseconds; nothing sleeps on a timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import typing

import pytest

from pager import clock, engine, metrics, models, wakeup
from pager.store import db, escalations, ingest, store
from pager.web import keys
from tests import support
from tests.support import wait

START = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)
MIN = datetime.timedelta(minutes=1)

# Three steps, one user each, 5m/10m/15m, walked twice (repeat: 1). The console
# channel is the only one enabled, so every page is one row with channel 'console'.
THREE_STEPS = """
rotations:
  - {id: primary, shift: 1w, handoff: "2026-01-05T09:00", members: [alice, bob]}
  - {id: nobody, shift: 1w, handoff: "2026-01-05T09:00", members: []}
escalation_policies:
  - id: three
    repeat: 1
    steps:
      - {targets: ["user:alice"], ack_timeout: 5m}
      - {targets: ["user:bob"], ack_timeout: 10m}
      - {targets: ["user:carol"], ack_timeout: 15m}
  - id: pairs
    repeat: 2
    steps:
      - {targets: ["user:carol"], ack_timeout: 1m}
      - {targets: ["rotation:primary", "user:bob"], ack_timeout: 2m}
  - id: gap
    steps:
      - {targets: ["rotation:nobody"], ack_timeout: 5m}
      - {targets: ["user:bob"], ack_timeout: 10m}
      - {targets: ["rotation:nobody"], ack_timeout: 5m}
      - {targets: ["user:carol"], ack_timeout: 15m}
services:
  - {id: web, escalation_policy: three}
  - {id: api, escalation_policy: pairs}
  - {id: edge, escalation_policy: gap}
priorities:
  P0: {channels: [console]}
  P1: {channels: [console]}
notifiers:
  console: {enabled: true}
postmortems: {priorities: []}  # escalation alone is under test: no post-mortem due dates
"""

SERVICE_POLICY = {"web": "three", "api": "pairs", "edge": "gap"}


@dataclasses.dataclass(frozen=True)
class Row:
    id: int
    incident_id: int
    round: int
    step: int
    user_id: str
    channel: str
    created_at: datetime.datetime
    status: str


def settings():
    return support.settings(THREE_STEPS)


def make_engine(pool: db.Pool, fake: clock.ManualClock, **kwargs: typing.Any) -> engine.Engine:
    return engine.Engine(settings(), escalations.Escalations(pool), fake, metrics.Metrics(), **kwargs)


async def open_incident(
    pool: db.Pool,
    fake: clock.ManualClock,
    service: str = "web",
    n: int = 0,
    priority: models.Priority = models.Priority.P0,
) -> int:
    return await store.Store(pool).create_incident(
        service=service,
        policy=SERVICE_POLICY[service],
        priority=priority,
        summary=f"disk full {n}",
        labels={},
        annotations={},
        actor="test",
        now=fake.now(),
        dedup_key=f"{service}-{n}",
    )


async def pages(pool: db.Pool, incident_id: int | None = None) -> list[Row]:
    rows = await pool.fetch(
        "SELECT id, incident_id, round, step, user_id, channel, created_at, status FROM notifications"
        " WHERE $1::bigint IS NULL OR incident_id = $1 ORDER BY id",
        incident_id,
    )
    return [Row(**dict(r)) for r in rows]


async def timeline(pool: db.Pool, incident_id: int) -> list[tuple[str, str, datetime.datetime]]:
    rows = await pool.fetch(
        "SELECT kind, message, at FROM incident_log WHERE incident_id = $1 ORDER BY id", incident_id
    )
    return [(r["kind"], r["message"], r["at"]) for r in rows]


async def incident(pool: db.Pool, incident_id: int) -> dict[str, typing.Any]:
    row = await pool.fetchrow("SELECT * FROM incidents WHERE id = $1", incident_id)
    assert row is not None
    return dict(row)


async def walk_to_the_end(
    pool: db.Pool, eng: engine.Engine, fake: clock.ManualClock, incident_id: int
) -> list[datetime.datetime]:
    """Tick at each due instant, and one microsecond before it, until the timer is off; returns the instants."""
    instants = []
    for _ in range(50):
        due = (await incident(pool, incident_id))["next_escalation_at"]
        if due is None:
            return instants
        if due > fake.now():
            await fake.set(due - datetime.timedelta(microseconds=1))
            assert await eng.tick() == 0, f"fired before its instant {due}"
        await fake.set(due)
        assert await eng.tick() == 1
        instants.append(due)
    raise AssertionError("the walk never ended")


# --- 1. one incident fast-forwarded through every step of every round ----------------------------------------------

WALKS = {
    "three steps, two rounds": (
        "web",
        [  # (round, step, user, minutes after the incident opened)
            (0, 0, "alice", 0),
            (0, 1, "bob", 5),
            (0, 2, "carol", 15),
            (1, 0, "alice", 30),
            (1, 1, "bob", 35),
            (1, 2, "carol", 45),
        ],
        60,  # exhausted: the last step's 15m ran out
    ),
    "two steps, three rounds, a rotation and a user in one step": (
        "api",
        [
            (0, 0, "carol", 0),
            (0, 1, "alice", 1),
            (0, 1, "bob", 1),
            (1, 0, "carol", 3),
            (1, 1, "alice", 4),
            (1, 1, "bob", 4),
            (2, 0, "carol", 6),
            (2, 1, "alice", 7),
            (2, 1, "bob", 7),
        ],
        9,
    ),
}


@pytest.mark.parametrize("service, expected, exhausted_after", WALKS.values(), ids=list(WALKS))
async def test_one_incident_walks_every_step_of_every_round_on_time_then_exhausts(
    pool, service, expected, exhausted_after
):
    fake = clock.ManualClock(START)
    eng = make_engine(pool, fake)
    inc = await open_incident(pool, fake, service)

    instants = await walk_to_the_end(pool, eng, fake, inc)

    got = [(p.round, p.step, p.user_id, p.channel, p.created_at) for p in await pages(pool)]
    assert got == [(r, s, u, "console", START + m * MIN) for r, s, u, m in expected]
    assert {p.status for p in await pages(pool)} == {"pending"}  # queued for the sender, nothing else
    # the engine woke exactly at each step's instant and once more to exhaust
    assert instants == sorted({START + m * MIN for *_, m in expected} | {START + exhausted_after * MIN})
    row = await incident(pool, inc)
    assert row["next_escalation_at"] is None
    assert row["status"] == "triggered"  # exhausted is not acknowledged: the incident stays open
    assert (row["escalation_round"], row["escalation_step"]) == expected[-1][:2]

    log = await timeline(pool, inc)
    assert log[-1][:2] == ("exhausted", "escalation policy exhausted; nobody acknowledged")
    assert log[-1][2] == START + exhausted_after * MIN
    assert await eng.tick() == 0
    await fake.advance(datetime.timedelta(days=7))
    assert await eng.tick() == 0  # nothing left: no page a week later
    assert len(await pages(pool)) == len(expected)


async def test_the_timeline_tells_the_walk_step_by_step(pool):
    fake = clock.ManualClock(START)
    eng = make_engine(pool, fake)
    inc = await open_incident(pool, fake, "web")
    await walk_to_the_end(pool, eng, fake, inc)

    assert [(kind, message, at - START) for kind, message, at in await timeline(pool, inc)] == [
        ("triggered", "Incident opened (P0) by test: disk full 0", 0 * MIN),
        ("escalated", "step 1: paging alice (console); escalates in 5m unless acknowledged", 0 * MIN),
        ("escalated", "step 2: paging bob (console); escalates in 10m unless acknowledged", 5 * MIN),
        ("escalated", "step 3: paging carol (console); escalates in 15m unless acknowledged", 15 * MIN),
        ("repeated", "starting round 2 of 2 at step 1", 30 * MIN),
        ("escalated", "step 1 (round 2): paging alice (console); escalates in 5m unless acknowledged", 30 * MIN),
        ("escalated", "step 2 (round 2): paging bob (console); escalates in 10m unless acknowledged", 35 * MIN),
        ("escalated", "step 3 (round 2): paging carol (console); escalates in 15m unless acknowledged", 45 * MIN),
        ("exhausted", "escalation policy exhausted; nobody acknowledged", 60 * MIN),
    ]
    actors = await pool.fetch(
        "SELECT DISTINCT actor FROM incident_log WHERE incident_id = $1 AND kind <> 'triggered'", inc
    )
    assert [r["actor"] for r in actors] == ["pager"]


# --- 2. acknowledge / resolve stop the walk ------------------------------------------------------------------------


@pytest.mark.parametrize("verb, status", [("acknowledge", "acknowledged"), ("resolve", "resolved")])
async def test_acknowledge_or_resolve_mid_walk_stops_every_later_page(pool, verb, status):
    fake = clock.ManualClock(START)
    eng = make_engine(pool, fake)
    inc = await open_incident(pool, fake)
    await eng.tick()
    await fake.set(START + 5 * MIN)
    await eng.tick()  # step 2 (bob) paged
    assert [(p.step, p.user_id) for p in await pages(pool)] == [(0, "alice"), (1, "bob")]

    await fake.advance(MIN)
    assert await getattr(store.Store(pool), verb)(inc, "bob", "api", fake.now())

    row = await incident(pool, inc)
    assert (row["status"], row["next_escalation_at"]) == (status, None)
    assert (row["escalation_round"], row["escalation_step"]) == (0, 1)  # the walk stays where it was
    assert {p.status for p in await pages(pool)} == {"cancelled"}  # queued, unsent pages are withdrawn too
    for hours in (1, 24, 24 * 7):
        await fake.set(START + hours * 60 * MIN)
        assert await eng.tick() == 0
    assert len(await pages(pool)) == 2
    assert await eng.store.next_due() is None
    kinds = [k for k, _, _ in await timeline(pool, inc)]
    assert kinds == ["triggered", "escalated", "escalated", status]


class GatedEscalations(escalations.Escalations):
    """Holds each claimed batch, rows locked, until the test opens the gate: a tick caught mid-transaction."""

    def __init__(self, pool: db.Pool) -> None:
        super().__init__(pool)
        self.claimed = asyncio.Event()
        self.gate = asyncio.Event()

    @contextlib.asynccontextmanager
    async def claim_due(
        self, now: datetime.datetime, limit: int, *, urgent: bool = False
    ) -> typing.AsyncIterator[escalations.Batch]:
        async with super().claim_due(now, limit, urgent=urgent) as batch:
            if batch.incidents:
                self.claimed.set()
                await self.gate.wait()
            yield batch


async def _ack_while_a_tick_holds_the_row(pool: db.Pool, verb: str) -> int:
    """The engine has claimed the incident (row locked) and is about to queue step 2 when `verb` arrives."""
    fake = clock.ManualClock(START)
    gated = GatedEscalations(pool)
    eng = engine.Engine(settings(), gated, fake, metrics.Metrics())
    inc = await open_incident(pool, fake)
    gated.gate.set()
    await eng.tick()
    gated.gate.clear()
    gated.claimed.clear()  # the next claim is the one the acknowledgement must wait for

    await fake.set(START + 5 * MIN)
    tick = asyncio.create_task(eng.tick())
    await asyncio.wait_for(gated.claimed.wait(), 10)
    ack = asyncio.create_task(getattr(store.Store(pool), verb)(inc, "alice", "sms", fake.now()))
    await asyncio.sleep(0.1)
    assert not ack.done()  # the acknowledgement waits for the engine's row lock instead of racing past it
    gated.gate.set()
    assert await asyncio.wait_for(tick, 10) == 1  # the engine queued bob's step-2 page and committed first
    assert await asyncio.wait_for(ack, 10)
    return inc


@pytest.mark.parametrize("verb, status", [("acknowledge", "acknowledged"), ("resolve", "resolved")])
async def test_an_ack_racing_a_tick_waits_for_it_then_clears_the_timer(pool, verb, status):
    inc = await _ack_while_a_tick_holds_the_row(pool, verb)
    row = await incident(pool, inc)
    assert (row["status"], row["next_escalation_at"]) == (status, None)
    assert (row["escalation_round"], row["escalation_step"]) == (0, 1)
    assert [(p.step, p.user_id) for p in await pages(pool)] == [(0, "alice"), (1, "bob")]


@pytest.mark.parametrize("verb", ["acknowledge", "resolve"])
async def test_an_ack_racing_a_tick_withdraws_the_page_the_tick_queued_in_the_same_transaction(pool, verb):
    await _ack_while_a_tick_holds_the_row(pool, verb)
    assert [(p.step, p.user_id, p.status) for p in await pages(pool)] == [
        (0, "alice", "cancelled"),
        (1, "bob", "cancelled"),
    ]


# --- 3. a step with nobody on call -----------------------------------------------------------------------------------


async def test_a_step_with_nobody_on_call_is_skipped_at_once_and_says_so_loudly(pool):
    fake = clock.ManualClock(START)
    eng = make_engine(pool, fake)
    inc = await open_incident(pool, fake, "edge")

    await eng.tick()  # step 1 is the empty rotation: bob (step 2) is paged at once, not 5m later
    assert [(p.round, p.step, p.user_id, p.created_at) for p in await pages(pool)] == [(0, 1, "bob", START)]
    row = await incident(pool, inc)
    assert row["next_escalation_at"] == START + 10 * MIN  # step 2's own timeout, from now
    log = await timeline(pool, inc)
    assert log[1:] == [
        ("step_skipped", "step 1: nobody on call for rotation:nobody; skipped", START),
        ("escalated", "step 2: paging bob (console); escalates in 10m unless acknowledged", START),
    ]

    await fake.set(START + 10 * MIN)
    await eng.tick()  # step 3 is empty too: carol (step 4) is paged at the same instant
    assert [(p.step, p.user_id, p.created_at) for p in await pages(pool)][1:] == [(3, "carol", START + 10 * MIN)]
    assert (await timeline(pool, inc))[3:] == [
        ("step_skipped", "step 3: nobody on call for rotation:nobody; skipped", START + 10 * MIN),
        ("escalated", "step 4: paging carol (console); escalates in 15m unless acknowledged", START + 10 * MIN),
    ]
    assert (await incident(pool, inc))["next_escalation_at"] == START + 25 * MIN
    skipped = eng.metrics.registry.get_sample_value(
        "pager_escalation_unreached_total", {"service": "edge", "reason": "step_skipped"}
    )
    assert skipped == 2


# --- 4. replicas ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch", [engine.BATCH, 4], ids=["one-batch", "batches-of-4"])
async def test_three_replicas_page_every_step_of_every_incident_exactly_once(pool, database_url, monkeypatch, batch):
    monkeypatch.setattr(engine, "BATCH", batch)
    fake = clock.ManualClock(START)
    incidents = 30
    ids = []
    for n in range(incidents):  # staggered by a few seconds so the replicas' claims interleave across instants
        await fake.set(START + datetime.timedelta(seconds=n % 7))
        ids.append(await open_incident(pool, fake, "web" if n % 2 else "api", n))
    await fake.set(START)

    async with contextlib.AsyncExitStack() as stack:
        pools = [pool]
        for _ in range(2):  # each replica has its own pool, as separate processes would
            p = await db.create_pool(database_url)
            stack.push_async_callback(p.close)
            pools.append(p)
        engines = [make_engine(p, fake) for p in pools]

        moved_total, instants = 0, 0
        while True:
            moved = await asyncio.gather(*(e.tick() for e in engines))
            moved_total += sum(moved)
            instants += 1
            due = await engines[0].store.next_due()
            if due is None:
                break
            assert instants < 200
            await fake.set(max(due, fake.now()))

    # web: 6 steps + exhaustion = 7 moves; api: 3 rounds × 2 steps + exhaustion = 7 moves
    assert moved_total == incidents * 7
    rows = await pages(pool)
    keys_ = [(p.incident_id, p.round, p.step, p.user_id, p.channel) for p in rows]
    assert len(keys_) == len(set(keys_))  # the unique key was never even needed: no engine tried twice
    per_incident = {i: [(p.round, p.step, p.user_id) for p in rows if p.incident_id == i] for i in ids}
    web = [(0, 0, "alice"), (0, 1, "bob"), (0, 2, "carol"), (1, 0, "alice"), (1, 1, "bob"), (1, 2, "carol")]
    api = [x for r in range(3) for x in [(r, 0, "carol"), (r, 1, "alice"), (r, 1, "bob")]]
    for n, i in enumerate(ids):
        assert per_incident[i] == (web if n % 2 else api), f"incident {i}"
    # one 'escalated' line per step paged and one 'exhausted' each: nobody wrote a step twice
    counts = await pool.fetch("SELECT kind, count(*) AS n FROM incident_log GROUP BY kind")
    assert {r["kind"]: r["n"] for r in counts} == {
        "triggered": incidents,
        "escalated": incidents * 6,
        "repeated": incidents // 2 * (1 + 2),
        "exhausted": incidents,
    }
    # each page was queued at its own due instant, not a tick late
    for n, i in enumerate(ids):
        opened = START + datetime.timedelta(seconds=n % 7)
        offsets = [0, 5, 15, 30, 35, 45] if n % 2 else [0, 1, 1, 3, 4, 4, 6, 7, 7]
        assert [p.created_at for p in rows if p.incident_id == i] == [opened + m * MIN for m in offsets]


# --- 5. an outage of the engine --------------------------------------------------------------------------------------


async def test_after_two_hours_down_one_tick_fires_every_overdue_step_once_oldest_first(pool):
    fake = clock.ManualClock(START)
    eng = make_engine(pool, fake)
    first = await open_incident(pool, fake, "web", 1)
    await eng.tick()
    await fake.set(START + 2 * MIN)
    second = await open_incident(pool, fake, "web", 2)
    await eng.tick()  # both first pages go out, then the engine dies
    assert [p.created_at for p in await pages(pool)] == [START, START + 2 * MIN]

    back = START + 2 * 60 * MIN
    await fake.set(back)
    eng = make_engine(pool, fake)  # a fresh engine (a restart) with fresh metrics
    late = eng.metrics
    assert await eng.tick() == 2
    assert await eng.tick() == 0

    rows = await pages(pool)
    for inc in (first, second):
        mine = [p for p in rows if p.incident_id == inc]
        assert [(p.round, p.step, p.user_id) for p in mine] == [
            (0, 0, "alice"),
            (0, 1, "bob"),
            (0, 2, "carol"),
            (1, 0, "alice"),
            (1, 1, "bob"),
            (1, 2, "carol"),
        ]
        assert [p.created_at for p in mine[1:]] == [back] * 5  # all at once, on the restart
        assert [p.id for p in mine] == sorted(p.id for p in mine)  # oldest step queued first
        row = await incident(pool, inc)
        assert row["next_escalation_at"] is None
        log = await timeline(pool, inc)
        assert [k for k, _, _ in log] == [
            "triggered",
            "escalated",
            "escalated",
            "escalated",
            "repeated",
            "escalated",
            "escalated",
            "escalated",
            "exhausted",
        ]
        assert [at for _, _, at in log[2:]] == [back] * 7
    # lateness is measured from each step's own due instant, not the first one's
    assert late.registry.get_sample_value("pager_escalation_lateness_seconds_count") == 2 * 6
    expected = sum(
        (back - (START + off + m * MIN)).total_seconds() for off in (0 * MIN, 2 * MIN) for m in (5, 15, 30, 35, 45, 60)
    )
    assert late.registry.get_sample_value("pager_escalation_lateness_seconds_sum") == pytest.approx(expected)


async def test_a_restart_in_the_middle_of_the_walk_keeps_the_original_schedule(pool):
    """Late steps keep their own instants as anchors: being down 12 minutes does not push step 3 back 12 minutes."""
    fake = clock.ManualClock(START)
    eng = make_engine(pool, fake)
    inc = await open_incident(pool, fake)
    await eng.tick()
    await fake.set(START + 17 * MIN)  # step 2 was due at 5m and step 3 at 15m: both overdue
    assert await eng.tick() == 1
    assert [(p.step, p.created_at) for p in await pages(pool)] == [
        (0, START),
        (1, START + 17 * MIN),
        (2, START + 17 * MIN),
    ]
    assert (await incident(pool, inc))["next_escalation_at"] == START + 30 * MIN  # 15m + 15m, not 17m + 15m


# --- 6. the running loop: woken by the clock and by LISTEN/NOTIFY -------------------------------------------------------


class CountingEscalations(escalations.Escalations):
    """Counts the turns of the engine's P0/P1 lane, where these tests' P0 incidents are, and of its P2/P3
    lane: each reads `next_due` once per turn, right before it sleeps."""

    def __init__(self, pool: db.Pool) -> None:
        super().__init__(pool)
        self.turns = 0
        self.routine_turns = 0

    async def next_due(self, *, urgent: bool | None = None) -> datetime.datetime | None:
        value = await super().next_due(urgent=urgent)
        if urgent is True:
            self.turns += 1
        elif urgent is False:
            self.routine_turns += 1
        return value


async def test_the_running_engine_wakes_when_the_clock_reaches_the_next_timer(pool):
    fake = clock.ManualClock(START)
    counting = CountingEscalations(pool)
    eng = engine.Engine(settings(), counting, fake, metrics.Metrics(), safety_interval=datetime.timedelta(hours=1))
    await open_incident(pool, fake)

    async with wakeup.running(eng.run(), "engine-under-test"):
        await wait.eventually(lambda: _count(pool, 1))
        await wait.eventually(lambda: _turns(counting, 1))
        turns = counting.turns

        await fake.set(START + 5 * MIN - datetime.timedelta(seconds=1))
        await asyncio.sleep(0.05)
        assert len(await pages(pool)) == 1  # not a second early
        await fake.set(START + 5 * MIN)
        await wait.eventually(lambda: _count(pool, 2))
        await fake.set(START + 15 * MIN)
        await wait.eventually(lambda: _count(pool, 3))
        # one loop turn per timer: it slept until each instant, with no polling in between
        await wait.eventually(lambda: _turns(counting, turns + 2))

    assert [(p.step, p.user_id, p.created_at) for p in await pages(pool)] == [
        (0, "alice", START),
        (1, "bob", START + 5 * MIN),
        (2, "carol", START + 15 * MIN),
    ]
    assert counting.turns == turns + 2


async def test_the_running_engine_wakes_on_notify_when_an_incident_opens(pool, database_url):
    fake = clock.ManualClock(START)
    counting = CountingEscalations(pool)
    eng = engine.Engine(settings(), counting, fake, metrics.Metrics(), safety_interval=datetime.timedelta(hours=1))
    heard: list[str] = []

    def on_notify(channel: str, payload: str) -> None:
        heard.append(channel)
        eng.wake(payload)

    listener = db.Listener(database_url, ["pager_incidents"], on_notify)
    listener.start()
    try:
        await wait.eventually(lambda: _true(heard))  # connected: the listener wakes once on (re)connecting
        connected = len(heard)
        async with wakeup.running(eng.run(), "engine-under-test"):
            await wait.eventually(lambda: _turns(counting, 1))  # ticked once (nothing due), now asleep for an hour
            await asyncio.sleep(0.05)
            assert counting.turns == 1

            inc = await open_incident(pool, fake)  # commits with pg_notify('pager_incidents', id)

            [page] = await wait.eventually(lambda: pages(pool))
            assert (page.incident_id, page.step, page.user_id, page.created_at) == (inc, 0, "alice", START)
            assert fake.now() == START  # the clock never moved: only the notification explains the wake-up
            assert heard[connected:] == ["pager_incidents"]
            await wait.eventually(lambda: _turns(counting, 2))
    finally:
        await listener.stop()


async def test_a_new_p0_wakes_the_p0_lane_alone_and_a_bare_wake_up_wakes_both(pool, database_url):
    """Every new P0 used to set the P2/P3 lane of every replica claiming nothing (0095)."""
    fake = clock.ManualClock(START)
    counting = CountingEscalations(pool)
    eng = engine.Engine(settings(), counting, fake, metrics.Metrics(), safety_interval=datetime.timedelta(hours=1))
    listener = db.Listener(database_url, ["pager_incidents"], lambda _channel, payload: eng.wake(payload))
    async with wakeup.running(eng.run(), "engine-under-test"):
        await wait.eventually(lambda: _turns(counting, 1))
        await wait.eventually(lambda: _true(counting.routine_turns))
        listener.start()
        try:
            await wait.eventually(lambda: _turns(counting, 2))  # the listener's wake-up on connecting: both lanes
            await wait.eventually(lambda: _true(counting.routine_turns >= 2))
            await asyncio.sleep(0.05)
            before = (counting.turns, counting.routine_turns)

            await ingest.Ingester(pool).ingest("prod-am", [_group("p0", models.Priority.P0)], fake.now())

            await wait.eventually(lambda: _count(pool, 1))
            await wait.eventually(lambda: _turns(counting, before[0] + 1))
            await asyncio.sleep(0.1)
            assert counting.routine_turns == before[1], "a new P0 woke the P2/P3 lane"
            eng.wake()
            await wait.eventually(lambda: _true(counting.routine_turns > before[1]))
        finally:
            await listener.stop()


def _group(key: str, priority: models.Priority) -> ingest.Group:
    a = models.Alert(key, "a", models.Action.TRIGGER, f"disk {key}", {"host": "a"}, {})
    return ingest.Group("web", key, SERVICE_POLICY["web"], [models.Classified(a, "web", priority, "classification[0]")])


async def _count(pool: db.Pool, n: int) -> bool:
    return len(await pages(pool)) >= n


async def _turns(counting: CountingEscalations, n: int) -> bool:
    return counting.turns >= n


async def _true(value: typing.Any) -> bool:
    return bool(value)


# --- 7. manual escalation through the API -----------------------------------------------------------------------------


async def test_manual_escalation_through_the_api_pages_the_next_step_at_once(make_client, pool):
    fake = clock.ManualClock(START)
    client = await make_client(settings(), clock=fake, run_engine=False)
    created = await client.post(
        "/api/v1/incidents", json={"service": "web", "summary": "db on fire", "priority": "P0"}, headers=support.API
    )
    assert created.status == 201, await created.text()
    inc = (await created.json())["id"]
    eng = client.app[keys.ENGINE]
    await eng.tick()
    assert [(p.step, p.user_id) for p in await pages(pool)] == [(0, "alice")]

    await fake.set(START + 2 * MIN)  # step 1's 5m has not run out
    resp = await client.post(f"/api/v1/incidents/{inc}/escalate", json={"user": "carol"}, headers=support.API)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["status"] == "triggered"
    assert [(p.round, p.step, p.user_id, p.created_at) for p in await pages(pool)] == [
        (0, 0, "alice", START),
        (0, 1, "bob", START + 2 * MIN),
    ]
    row = await incident(pool, inc)
    assert row["next_escalation_at"] == START + 12 * MIN  # step 2's 10m counted from the manual escalation
    assert [(k, m) for k, m, _ in await timeline(pool, inc)][-2:] == [
        ("manual_escalation", "manual escalation from step 1"),
        ("escalated", "step 2: paging bob (console); escalates in 10m unless acknowledged"),
    ]
    asked = await pool.fetchval(
        "SELECT actor FROM incident_log WHERE incident_id = $1 AND kind = 'manual_escalation'", inc
    )
    assert asked == "carol"  # the timeline says who asked
    assert await eng.tick() == 0  # the old 5m timer is gone: bob is not paged twice, carol not early

    await fake.set(START + 12 * MIN)
    assert await eng.tick() == 1
    assert [(p.step, p.user_id) for p in await pages(pool)][-1] == (2, "carol")

    ack = await client.post(f"/api/v1/incidents/{inc}/acknowledge", headers=support.API)
    assert ack.status == 200, await ack.text()
    refused = await client.post(f"/api/v1/incidents/{inc}/escalate", headers=support.API)
    assert refused.status == 409
    assert "acknowledged" in (await refused.json())["error"]
    assert len(await pages(pool)) == 3  # nothing paged for an acknowledged incident
    assert (await client.post(f"/api/v1/incidents/{inc}/resolve", headers=support.API)).status == 200
    refused = await client.post(f"/api/v1/incidents/{inc}/escalate", headers=support.API)
    assert refused.status == 409 and "resolved" in (await refused.json())["error"]
    assert len(await pages(pool)) == 3
    observed = client.app[keys.METRICS].registry.get_sample_value
    assert [observed("pager_escalations_total", {"service": "web", "step": s}) for s in "123"] == [1, 1, 1]
    missing = await client.post("/api/v1/incidents/999999/escalate", headers=support.API)
    assert missing.status == 404


async def test_manual_escalation_past_the_last_step_starts_another_round(pool):
    fake = clock.ManualClock(START)
    eng = make_engine(pool, fake)
    inc = await open_incident(pool, fake)
    await walk_to_the_end(pool, eng, fake, inc)
    assert (await incident(pool, inc))["next_escalation_at"] is None  # exhausted, still triggered

    assert await eng.escalate(inc) == "escalated"
    last = (await pages(pool))[-1]
    assert (last.round, last.step, last.user_id, last.created_at) == (2, 0, "alice", fake.now())
    assert (await incident(pool, inc))["next_escalation_at"] == fake.now() + 5 * MIN


# --- 8. metrics --------------------------------------------------------------------------------------------------------


async def test_escalations_and_their_lateness_are_observed(pool):
    fake = clock.ManualClock(START)
    eng = make_engine(pool, fake)
    m = eng.metrics.registry
    await open_incident(pool, fake)
    await eng.tick()
    await fake.set(START + 5 * MIN + datetime.timedelta(seconds=3))  # step 2 fires 3 s late
    await eng.tick()

    def escalations_total(step: str, service: str = "web") -> float | None:
        return m.get_sample_value("pager_escalations_total", {"service": service, "step": step})

    assert (escalations_total("1"), escalations_total("2"), escalations_total("3")) == (1, 1, None)
    assert m.get_sample_value("pager_escalation_lateness_seconds_count") == 2
    assert m.get_sample_value("pager_escalation_lateness_seconds_sum") == pytest.approx(3.0)
    assert m.get_sample_value("pager_escalation_lateness_seconds_bucket", {"le": "2.5"}) == 1
    assert m.get_sample_value("pager_escalation_lateness_seconds_bucket", {"le": "5.0"}) == 2

    await fake.set(START + 15 * MIN)
    await eng.tick()
    await fake.set(START + 30 * MIN)
    await eng.tick()  # round 2, step 1: the same step label again
    assert (escalations_total("1"), escalations_total("2"), escalations_total("3")) == (2, 1, 1)
    assert m.get_sample_value("pager_escalation_lateness_seconds_count") == 4
    exposition = eng.metrics.exposition().decode()
    assert 'pager_escalations_total{service="web",step="1"} 2.0' in exposition
    assert "pager_escalation_lateness_seconds_bucket" in exposition
