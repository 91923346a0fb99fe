"""Priority first: a P0 is claimed, queued and sent ahead of a storm of P2/P3 work, which still goes out in order.

The engine and the sender each run a P0/P1 lane beside their P2/P3 lane. These
tests hold the P2/P3 lane mid-work (a claim whose transaction is kept open, an
SMTP server that does not answer) and check that a P0 is paged meanwhile, then
that the held work completes, oldest first.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import typing

from pager import clock, engine, metrics, models, notify, sender, wakeup
from pager.store import db, escalations, store
from pager.store import outbox as outbox_store
from tests import support
from tests.support import smtp_double, twilio_double, wait

START = datetime.datetime(2026, 11, 23, 3, 0, tzinfo=datetime.UTC)
ALICE, BOB = "+15551230001", "+15551230002"
STORM = 500


def settings(double: twilio_double.TwilioDouble | None = None, smtp_port: int | None = None) -> typing.Any:
    """`core` pages alice by SMS at P0; `storm` pages bob by email at P3 (or by console without an SMTP server)."""
    notifiers = "console: {enabled: true}"
    p3 = "[console]"
    env = dict(support.ENV)
    if double is not None and smtp_port is not None:
        notifiers = (
            f'sms: {{from: "+15005550006", api_base: "{double.url}"}}\n'
            f"  email: {{host: 127.0.0.1, port: {smtp_port}, from: pager@example.com, timeout: 60s}}\n"
            "  console: {enabled: false}"
        )
        p3 = "[email]"
        env |= {"TWILIO_ACCOUNT_SID": double.account_sid, "TWILIO_AUTH_TOKEN": double.auth_token}
    return support.settings(
        f"""
users:
  - {{id: alice, name: Alice, phone: "{ALICE}", email: alice@example.com}}
  - {{id: bob, name: Bob, phone: "{BOB}", email: bob@example.com}}
escalation_policies:
  - {{id: core, steps: [{{targets: ["user:alice"], ack_timeout: 5m}}]}}
  - {{id: storm, steps: [{{targets: ["user:bob"], ack_timeout: 5m}}]}}
services:
  - {{id: core, escalation_policy: core}}
  - {{id: storm, escalation_policy: storm}}
  - {{id: web, escalation_policy: core}}
priorities:
  P0: {{channels: [{"sms" if double else "console"}]}}
  P3: {{channels: {p3}, escalate: false}}
notifiers:
  {notifiers}
""",
        env,
    )


async def storm(pool: db.Pool, n: int, at: datetime.datetime) -> None:
    """`n` new P3 incidents on `storm`, all due for their first page at `at`."""
    await pool.execute(
        "INSERT INTO incidents (service, dedup_key, priority, summary, escalation_policy, next_escalation_at,"
        " created_at, last_seen_at)"
        " SELECT 'storm', 'storm-' || g, 3, 'storm ' || g, 'storm', $2, $2, $2 FROM generate_series(1, $1) g",
        n,
        at,
    )


async def open_p0(pool: db.Pool, now: datetime.datetime) -> int:
    return await store.Store(pool).create_incident(
        service="core",
        policy="core",
        priority=models.Priority.P0,
        summary="checkout down",
        labels={},
        annotations={},
        actor="test",
        now=now,
    )


async def page_rows(pool: db.Pool) -> list[typing.Any]:
    return list(await pool.fetch("SELECT id, incident_id, user_id, channel FROM notifications ORDER BY id"))


class HeldRoutineLane(escalations.Escalations):
    """Keeps the P2/P3 lane's claim (rows locked, transaction open) until the test releases it."""

    def __init__(self, pool: db.Pool) -> None:
        super().__init__(pool)
        self.holding = asyncio.Event()
        self.release = asyncio.Event()

    @contextlib.asynccontextmanager
    async def claim_due(
        self, now: datetime.datetime, limit: int, *, urgent: bool = False
    ) -> typing.AsyncIterator[escalations.Batch]:
        async with super().claim_due(now, limit, urgent=urgent) as batch:
            if batch.incidents and not urgent:
                self.holding.set()
                await self.release.wait()
            yield batch


async def test_a_p0_is_paged_while_the_p3_lane_holds_a_claim_of_the_storm_then_the_storm_goes_out_in_order(pool):
    fake = clock.ManualClock(START)
    await storm(pool, STORM, START - datetime.timedelta(seconds=30))
    held = HeldRoutineLane(pool)
    eng = engine.Engine(settings(), held, fake, metrics.Metrics(), safety_interval=datetime.timedelta(hours=1))

    async with wakeup.running(eng.run(), "engine-under-test"):
        await asyncio.wait_for(held.holding.wait(), 10)  # 200 P3 incidents claimed, their transaction open
        p0 = await open_p0(pool, fake.now())
        eng.wake()
        [page] = await wait.eventually(lambda: page_rows(pool))
        assert (page["incident_id"], page["user_id"]) == (p0, "alice")  # paged while the storm waits

        held.release.set()
        rows = await wait.eventually(lambda: _at_least(pool, STORM + 1), timeout=30)

    storm_pages = [r["incident_id"] for r in rows if r["user_id"] == "bob"]
    assert len(storm_pages) == STORM
    assert storm_pages == sorted(storm_pages)  # the storm still goes out oldest first


async def _at_least(pool: db.Pool, n: int) -> list[typing.Any] | None:
    rows = await page_rows(pool)
    return rows if len(rows) >= n else None


async def test_one_tick_queues_the_p0_first_even_when_it_is_the_youngest_due(pool):
    fake = clock.ManualClock(START)
    await storm(pool, STORM, START - datetime.timedelta(minutes=1))
    p0 = await open_p0(pool, fake.now())
    eng = engine.Engine(settings(), escalations.Escalations(pool), fake, metrics.Metrics())

    assert await eng.tick() == STORM + 1

    rows = await page_rows(pool)
    assert rows[0]["incident_id"] == p0
    assert [r["incident_id"] for r in rows[1:]] == sorted(r["incident_id"] for r in rows[1:])


async def test_a_p0_sms_goes_out_while_the_storms_email_is_stuck_on_a_slow_smtp_server(pool):
    fake = clock.ManualClock(START)
    async with twilio_double.running() as double:
        mailbox = smtp_double.Mailbox()
        mailbox.stall = smtp_double.Stalling()
        with smtp_double.smtp_server(mailbox) as (_, port):
            cfg = settings(double, port)
            m = metrics.Metrics()
            send = sender.Sender(cfg, outbox_store.Outbox(pool), fake, m, notify.build(cfg))
            eng = engine.Engine(cfg, escalations.Escalations(pool), fake, m, on_pages=send.wake)
            try:
                await storm(pool, 30, START)
                await eng.tick()  # 30 P3 pages to bob, queued: one bundled email
                async with wakeup.running(send.run(), "sender-under-test"):
                    await asyncio.get_running_loop().run_in_executor(None, mailbox.stall.stalled.wait, 10)
                    await open_p0(pool, fake.now())
                    await eng.tick()
                    [sms] = await wait.eventually(lambda: double.messages)
                    assert sms.to == ALICE and "checkout down" in sms.body
                    assert mailbox.received == []  # the storm's email is still stuck

                    mailbox.stall.release.set()
                    [(_, rcpt, mail)] = await wait.eventually(lambda: mailbox.received)
                    assert rcpt == ["bob@example.com"]
                    assert "29 more" in mail.get_content() or "+29" in mail.get_content()
            finally:
                mailbox.stall.release.set()
                await send.aclose()


class FailingCommit(escalations.Escalations):
    """Writes a batch, then fails before COMMIT once, as a database that drops the connection would."""

    def __init__(self, pool: db.Pool) -> None:
        super().__init__(pool)
        self.failures = 1

    @contextlib.asynccontextmanager
    async def claim_due(
        self, now: datetime.datetime, limit: int, *, urgent: bool = False
    ) -> typing.AsyncIterator[escalations.Batch]:
        async with super().claim_due(now, limit, urgent=urgent) as batch:
            yield batch
            if batch.incidents and self.failures:
                self.failures -= 1
                raise db.Unavailable("connection lost before COMMIT")


async def test_a_failed_commit_counts_nothing_and_the_retry_counts_once(pool):
    fake = clock.ManualClock(START)
    m = metrics.Metrics()
    eng = engine.Engine(settings(), FailingCommit(pool), fake, m)
    p0 = await open_p0(pool, fake.now())

    with contextlib.suppress(db.Unavailable):
        await eng.tick()
    assert await page_rows(pool) == []  # rolled back
    assert m.registry.get_sample_value("pager_escalations_total", {"service": "core", "step": "1"}) is None

    await eng.tick()
    [page] = await page_rows(pool)
    assert page["incident_id"] == p0
    assert m.registry.get_sample_value("pager_escalations_total", {"service": "core", "step": "1"}) == 1.0
    assert m.registry.get_sample_value("pager_escalation_lateness_seconds_count") == 1.0
