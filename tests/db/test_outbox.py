"""The outbox sender keeps its promises: against a real PostgreSQL, a Twilio double and a real SMTP server.

Most tests build `sender.Sender` (and `engine.Engine`) directly over the test's
pool with a `ManualClock` and notifiers whose own retries are fast, queue pages
with `engine.tick()` and send them with an explicit `await sender.drain()`; what
the sender did is read back from the `notifications` outbox, the timeline, the
double, the mailbox and the metrics registry. Twilio's delivery callbacks, the
acknowledge API and `/metrics` are exercised through the whole daemon.

Tests marked `xfail(strict=True, reason="BUG: ...")` pin behaviour that breaks
a promise today; each fails for the reason named, and passes once it is fixed.
"""

from __future__ import annotations

import asyncio
import collections.abc
import contextlib
import dataclasses
import datetime
import typing

import pytest
from aiohttp import test_utils

from pager import clock, daemon, engine, metrics, models, sender
from pager.notify import email as email_notify
from pager.notify import message, sms
from pager.store import db, escalations, sql, store
from pager.store import outbox as outbox_store
from pager.web import keys
from tests import support
from tests.support import smtp_double, twilio_double, wait

START = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)
PUBLIC = "https://pager.example.com"
FROM = "+15005550006"
ALICE_PHONE, DAVE_PHONE = "+15551230001", "+15551230004"
MIN = datetime.timedelta(minutes=1)
TICK = datetime.timedelta(microseconds=1)

# The notifiers' own quick retries, made instant: two tries per send, then the outbox takes over.
FAST = message.RetryPolicy(
    attempts=2,
    deadline=datetime.timedelta(seconds=10),
    attempt_timeout=datetime.timedelta(seconds=5),
    backoff=datetime.timedelta(milliseconds=1),
    backoff_max=datetime.timedelta(milliseconds=5),
)


def outbox_settings(double: twilio_double.TwilioDouble, smtp_port: int, public_url: str = PUBLIC):
    """`web` pages alice by SMS (email is her fallback) each minute, twice; `landline` pages dave, who has no email."""
    env = {**support.ENV, "TWILIO_ACCOUNT_SID": double.account_sid, "TWILIO_AUTH_TOKEN": double.auth_token}
    return support.settings(
        f"""
server: {{public_url: "{public_url}"}}
users:
  - {{id: alice, name: Alice, phone: "{ALICE_PHONE}", email: alice@example.com}}
  - {{id: bob, name: Bob, phone: "+15551230002", email: bob@example.com}}
  - {{id: carol, name: Carol, phone: "+15551230003", email: carol@example.com}}
  - {{id: dave, name: Dave, phone: "{DAVE_PHONE}"}}
escalation_policies:
  - id: nag
    repeat: 1
    steps:
      - {{targets: ["user:alice"], ack_timeout: 1m}}
  - id: landline
    steps:
      - {{targets: ["user:dave"], ack_timeout: 5m}}
services:
  - {{id: web, escalation_policy: nag}}
  - {{id: landline, escalation_policy: landline}}
notifiers:
  sms: {{from: "{FROM}", api_base: "{double.url}"}}
  email: {{host: 127.0.0.1, port: {smtp_port}, from: pager@example.com}}
  console: {{enabled: false}}
priorities:
  P0: {{channels: [sms]}}
""",
        env,
    )


@dataclasses.dataclass
class Rig:
    pool: db.Pool
    clock: clock.ManualClock
    double: twilio_double.TwilioDouble
    mailbox: smtp_double.Mailbox
    smtp_port: int
    settings: typing.Any
    metrics: metrics.Metrics
    store: store.Store
    outbox: outbox_store.Outbox
    engine: engine.Engine
    sender: sender.Sender

    def notifiers(self) -> dict[str, message.Notifier]:
        return {
            "sms": sms.TwilioSms(
                account_sid=self.double.account_sid,
                auth_token=self.double.auth_token,
                from_number=FROM,
                api_base=self.double.url,
                public_url=PUBLIC,
                retry=FAST,
            ),
            "email": email_notify.SmtpEmail(
                host="127.0.0.1", port=self.smtp_port, sender="pager@example.com", retry=FAST
            ),
        }

    def another_sender(self) -> sender.Sender:
        """A second replica's sender on the same database."""
        return sender.Sender(
            self.settings,
            outbox_store.Outbox(self.pool),
            self.clock,
            self.metrics,
            self.notifiers(),
        )

    async def open(self, service: str = "web", summary: str | None = None) -> int:
        policy = self.settings.config.service(service).escalation_policy
        n = await self.pool.fetchval("SELECT count(*) FROM incidents")
        return await self.store.create_incident(
            service=service,
            policy=policy,
            priority=models.Priority.P0,
            summary=summary or f"disk full {n + 1}",
            labels={},
            annotations={},
            actor="test",
            now=self.clock.now(),
        )

    async def page_now(self, service: str = "web") -> int:
        """Open an incident and send its first page at once."""
        incident_id = await self.open(service)
        await self.engine.tick()
        await self.sender.drain()
        return incident_id

    async def rows(self, incident_id: int | None = None) -> list[dict[str, typing.Any]]:
        return [
            dict(r)
            for r in await self.pool.fetch(
                "SELECT * FROM notifications WHERE $1::bigint IS NULL OR incident_id = $1 ORDER BY id", incident_id
            )
        ]

    async def kinds(self, incident_id: int) -> list[str]:
        return [k for k, _ in await timeline(self.pool, incident_id)]

    async def lines(self, incident_id: int, kind: str) -> list[str]:
        return [m for k, m in await timeline(self.pool, incident_id) if k == kind]

    def count(self, channel: str, outcome: str) -> float:
        return (
            self.metrics.registry.get_sample_value(
                "pager_notifications_total", {"channel": channel, "outcome": outcome}
            )
            or 0.0
        )

    def sms_to(self, phone: str = ALICE_PHONE) -> list[twilio_double.Message]:
        return [m for m in self.double.messages if m.to == phone]


async def timeline(pool: db.Pool, incident_id: int) -> list[tuple[str, str]]:
    rows = await pool.fetch("SELECT kind, message FROM incident_log WHERE incident_id = $1 ORDER BY id", incident_id)
    return [(r["kind"], r["message"]) for r in rows]


@pytest.fixture
async def rig(pool: db.Pool) -> collections.abc.AsyncIterator[Rig]:
    async with twilio_double.running() as double:
        with smtp_double.smtp_server() as (mailbox, port):
            fake = clock.ManualClock(START)
            settings = outbox_settings(double, port)
            m = metrics.Metrics()
            r = Rig(
                pool,
                fake,
                double,
                mailbox,
                port,
                settings,
                m,
                store.Store(pool),
                outbox_store.Outbox(pool),
                engine.Engine(settings, escalations.Escalations(pool), fake, m),
                typing.cast(typing.Any, None),
            )
            r.sender = sender.Sender(settings, r.outbox, fake, m, r.notifiers())
            try:
                yield r
            finally:
                await r.sender.aclose()


# --- 1. bundling and the per-contact throttle ------------------------------------------------------------------------


async def test_first_pages_are_never_held_later_pages_are_held_then_go_out_as_one_bundle(rig):
    # Seven incidents page alice one after another: seven first pages, over the 5-per-15-min limit, none held.
    first = [await rig.page_now() for _ in range(7)]
    assert [m.to for m in rig.double.messages] == [ALICE_PHONE] * 7
    assert rig.count("sms", "throttled") == 0

    # A minute later every incident pages her again (round 2): she is busy, so these are held, not sent, not dropped.
    await rig.clock.advance(MIN)
    await rig.engine.tick()
    assert await rig.sender.drain() == 7
    assert len(rig.double.messages) == 7
    held = [r for r in await rig.rows() if r["round"] == 1]
    assert len(held) == 7
    assert {(r["status"], r["not_before"], r["lease_until"]) for r in held} == {("pending", START + 15 * MIN, None)}
    assert rig.count("sms", "throttled") == 7
    for incident_id in first:
        [line] = await rig.lines(incident_id, "page_held")
        assert line.startswith("Page to Alice by sms held by the per-contact limit (5 per 15 min) until 12:15:00 UTC")

    # A new incident meanwhile is a first page: it goes out at once, alone, past the held ones.
    await rig.clock.set(START + 5 * MIN)
    eighth = await rig.page_now()
    assert len(rig.double.messages) == 8
    assert "more" not in rig.double.messages[-1].body and f"#{eighth} " in rig.double.messages[-1].body

    # Not a moment early ...
    await rig.clock.set(START + 15 * MIN - TICK)
    assert await rig.sender.drain() == 0
    assert len(rig.double.messages) == 8

    # ... and when the window frees up, the seven held pages go out as ONE message.
    await rig.clock.set(START + 15 * MIN)
    assert await rig.sender.drain() == 7
    assert len(rig.double.messages) == 9
    bundle = rig.double.messages[-1]
    assert bundle.to == ALICE_PHONE
    assert bundle.body.startswith(f"[P0] web: disk full 1 #{first[0]} ack: {PUBLIC}/a/")
    assert bundle.body.endswith("\n+6 more: " + " ".join(f"#{i}" for i in first[1:]))

    rows = await rig.rows()
    assert len(rows) == 15 and {r["status"] for r in rows} == {"sent"}  # nothing dropped
    assert {r["provider_id"] for r in rows if r["round"] == 1} == {bundle.sid}
    assert {r["attempts"] for r in rows} == {1}  # a hold is not an attempt
    assert rig.count("sms", "sent") == 15
    assert await rig.kinds(first[2]) == [
        "triggered",
        "escalated",
        "paged",  # round 1, at once
        "repeated",
        "escalated",
        "page_held",  # round 2, a minute later: held
        "exhausted",  # (the policy ran out at 12:02, seen by the tick at 12:05)
        "paged",  # round 2, bundled, at 12:15
    ]
    assert (await rig.lines(first[2], "paged"))[-1] == (
        "Paged Alice by sms (bundled with #" + ", #".join(str(i) for i in first[1:]) + ")"
    )


async def test_two_pages_of_one_incident_in_one_drain_are_one_message(rig):
    incident_id = await rig.open()
    await rig.engine.tick()  # round 1 queued
    await rig.clock.advance(MIN)
    await rig.engine.tick()  # round 2 queued before the sender got to round 1
    assert len(await rig.rows(incident_id)) == 2

    assert await rig.sender.drain() == 2

    [sms_] = rig.double.messages
    assert "more" not in sms_.body and sms_.body.endswith(f"or reply {incident_id}")
    rows = await rig.rows(incident_id)
    assert [(r["status"], r["provider_id"]) for r in rows] == [("sent", sms_.sid)] * 2
    assert await rig.lines(incident_id, "paged") == ["Paged Alice by sms"]
    assert rig.count("sms", "sent") == 2


async def test_first_pages_of_many_incidents_in_one_drain_are_one_message(rig):
    """Six incidents at once: one SMS listing them all, never six."""
    incidents = [await rig.open() for _ in range(6)]
    await rig.engine.tick()
    assert await rig.sender.drain() == 6
    [bundle] = rig.double.messages
    assert bundle.body.endswith("\n+5 more: " + " ".join(f"#{i}" for i in incidents[1:]))
    assert {r["provider_id"] for r in await rig.rows()} == {bundle.sid}


async def test_the_throttle_counts_messages_not_the_pages_bundled_in_them(rig):
    for _ in range(6):
        await rig.open()
    await rig.engine.tick()
    await rig.sender.drain()
    assert len(rig.double.messages) == 1  # one SMS so far in this window

    await rig.clock.advance(MIN)
    await rig.engine.tick()  # every incident pages alice again: 1 message in the window, well under 5
    await rig.sender.drain()

    assert rig.count("sms", "throttled") == 0
    assert len(rig.double.messages) == 2


# --- 2. permanent failures: no retries, fall back, or say loudly that nobody was reached ----------------------------


async def test_permanent_twilio_error_fails_at_once_and_falls_back_to_email(rig):
    rig.double.reject_next(21211)
    incident_id = await rig.page_now()

    assert [r.answered for r in rig.double.requests] == [400]  # refused for good: no retry at the edge
    assert rig.double.messages == []
    [sms_row, email_row] = await rig.rows(incident_id)
    assert (sms_row["channel"], sms_row["status"], sms_row["attempts"]) == ("sms", "failed", 1)
    assert "21211" in sms_row["error"] and sms_row["lease_until"] is None
    assert (email_row["channel"], email_row["address"]) == ("email", "alice@example.com")
    assert email_row["status"] == "pending"
    assert (email_row["round"], email_row["step"]) == (sms_row["round"], sms_row["step"])
    [failed] = await rig.lines(incident_id, "page_failed")
    assert failed.startswith("Page to Alice by sms failed: Twilio error 21211")
    assert await rig.lines(incident_id, "page_fallback") == ["Falling back to email for Alice"]

    assert await rig.sender.drain() == 1  # the fallback is due at once
    [(mail_from, rcpt_tos, mail)] = rig.mailbox.received
    assert (mail_from, rcpt_tos) == ("pager@example.com", ["alice@example.com"])
    assert mail["Subject"] == f"[P0] web: disk full 1 (#{incident_id})"
    assert f"{PUBLIC}/a/" in mail.get_content()
    assert [r["status"] for r in await rig.rows(incident_id)] == ["failed", "sent"]
    assert await rig.kinds(incident_id) == ["triggered", "escalated", "page_failed", "page_fallback", "paged"]
    assert await rig.lines(incident_id, "paged") == ["Paged Alice by email"]
    assert (rig.count("sms", "failed"), rig.count("sms", "fallback"), rig.count("email", "sent")) == (1, 1, 1)
    assert rig.count("sms", "retry") == 0

    assert await rig.sender.drain() == 0  # and that is all
    assert len(rig.double.requests) == 1 and len(rig.mailbox.received) == 1


async def test_permanent_failure_for_a_user_with_no_other_channel_is_loud(rig):
    rig.double.reject_next(21610)
    incident_id = await rig.page_now("landline")

    [row] = await rig.rows(incident_id)
    assert (row["user_id"], row["status"]) == ("dave", "failed")
    assert await rig.kinds(incident_id) == ["triggered", "escalated", "page_failed", "page_undeliverable"]
    assert await rig.lines(incident_id, "page_undeliverable") == [
        "Dave could not be reached: no other channel to fall back to"
    ]
    assert await rig.sender.drain() == 0
    assert len(rig.double.requests) == 1 and rig.mailbox.received == []


async def test_every_channel_failing_is_loud(rig):
    rig.double.reject_next(21211)
    rig.mailbox.refuse("RCPT", "550 5.1.1 <alice@example.com>: Recipient address rejected: User unknown")
    incident_id = await rig.page_now()
    await rig.sender.drain()  # the email fallback, refused for good

    assert [r["status"] for r in await rig.rows(incident_id)] == ["failed", "failed"]
    assert await rig.lines(incident_id, "page_undeliverable")


# --- 3. temporary failures: back to pending with a backoff, then delivered exactly once -------------------------------


async def test_temporary_failure_beyond_the_edge_retries_is_rescheduled_with_backoff_then_sent_once(rig):
    rig.double.fail_next(2 * FAST.attempts, 503)  # two whole sends' worth of 503s
    incident_id = await rig.page_now()

    assert [r.answered for r in rig.double.requests] == [503] * FAST.attempts
    [row] = await rig.rows(incident_id)
    assert (row["status"], row["attempts"], row["lease_until"]) == ("pending", 1, None)
    assert row["not_before"] == START + sender.retry_delay(1) == START + datetime.timedelta(seconds=5)
    assert "503" in row["error"]
    [retry] = await rig.lines(incident_id, "page_retry")
    assert retry.startswith("Page to Alice by sms failed (Twilio") and retry.endswith("retrying in 5s")
    assert rig.count("sms", "retry") == 1

    await rig.clock.set(row["not_before"] - TICK)
    assert await rig.sender.drain() == 0  # not before its time

    await rig.clock.set(START + datetime.timedelta(seconds=5))
    assert await rig.sender.drain() == 1
    [row] = await rig.rows(incident_id)
    assert (row["status"], row["attempts"]) == ("pending", 2)
    assert row["not_before"] == START + datetime.timedelta(seconds=15)  # the backoff doubles
    assert (await rig.lines(incident_id, "page_retry"))[-1].endswith("retrying in 10s")

    await rig.clock.set(START + datetime.timedelta(seconds=15))
    assert await rig.sender.drain() == 1
    [sms_] = rig.double.messages
    assert [r.answered for r in rig.double.requests] == [503] * (2 * FAST.attempts) + [201]
    [row] = await rig.rows(incident_id)
    assert (row["status"], row["provider_id"], row["error"], row["attempts"]) == ("sent", sms_.sid, None, 3)
    assert row["sent_at"] == START + datetime.timedelta(seconds=15)
    assert await rig.kinds(incident_id) == ["triggered", "escalated", "page_retry", "page_retry", "paged"]
    assert (rig.count("sms", "retry"), rig.count("sms", "sent")) == (2, 1)
    delay = rig.metrics.registry.get_sample_value("pager_notification_delay_seconds_sum", {"channel": "sms"})
    assert delay == 15.0  # queued at START, accepted by the provider 15 s later

    await rig.clock.advance(datetime.timedelta(hours=1))
    assert await rig.sender.drain() == 0
    assert len(rig.double.messages) == 1  # exactly once


async def test_a_page_that_keeps_failing_temporarily_gives_up_after_max_attempts_and_falls_back(rig):
    rig.double.fail_next(FAST.attempts * sender.MAX_ATTEMPTS, 503)
    incident_id = await rig.open()
    await rig.engine.tick()
    for attempt in range(1, sender.MAX_ATTEMPTS + 1):
        [sms_row, *_] = await rig.rows(incident_id)
        await rig.clock.set(max(rig.clock.now(), sms_row["not_before"]))
        assert await rig.sender.drain() == 1, attempt

    [sms_row, email_row] = await rig.rows(incident_id)
    assert (sms_row["status"], sms_row["attempts"]) == ("failed", sender.MAX_ATTEMPTS)
    assert len(rig.double.requests) == FAST.attempts * sender.MAX_ATTEMPTS and rig.double.messages == []
    assert len(await rig.lines(incident_id, "page_retry")) == sender.MAX_ATTEMPTS - 1
    assert await rig.lines(incident_id, "page_fallback") == ["Falling back to email for Alice"]
    assert await rig.sender.drain() == 1
    assert len(rig.mailbox.received) == 1
    assert [r["status"] for r in await rig.rows(incident_id)] == ["failed", "sent"]


# --- 4. a sender that dies between "sending" and "sent" ---------------------------------------------------------------


async def test_a_page_leased_by_a_dead_sender_is_sent_once_after_the_lease_runs_out(rig):
    incident_id = await rig.open()
    await rig.engine.tick()
    [claimed] = await rig.outbox.claim(rig.clock.now(), 10, sender.LEASE, urgent=True)  # ... and the sender dies here
    assert claimed.incident_id == incident_id and claimed.first_page

    assert await rig.sender.drain() == 0  # the lease is someone else's
    await rig.clock.set(START + sender.LEASE - TICK)
    assert await rig.sender.drain() == 0
    assert rig.double.requests == []

    await rig.clock.set(START + sender.LEASE)
    assert await rig.sender.drain() == 1
    [sms_] = rig.double.messages
    [row] = await rig.rows(incident_id)
    assert (row["status"], row["provider_id"], row["attempts"]) == ("sent", sms_.sid, 2)
    assert await rig.kinds(incident_id) == ["triggered", "escalated", "paged"]

    await rig.clock.advance(10 * sender.LEASE)
    assert await rig.sender.drain() == 0
    assert len(rig.double.requests) == 1  # exactly one message


async def test_a_dead_senders_page_of_an_incident_acknowledged_meanwhile_is_cancelled_not_sent(rig):
    incident_id = await rig.open()
    await rig.engine.tick()
    await rig.outbox.claim(rig.clock.now(), 10, sender.LEASE, urgent=True)
    assert await rig.store.acknowledge(incident_id, "alice", "api", rig.clock.now())

    await rig.clock.advance(sender.LEASE)
    assert await rig.sender.drain() == 1

    assert rig.double.requests == []
    assert [r["status"] for r in await rig.rows(incident_id)] == ["cancelled"]


async def test_concurrent_senders_send_each_page_once(rig):
    web, landline = await rig.open("web"), await rig.open("landline")
    await rig.engine.tick()
    others = [rig.another_sender() for _ in range(3)]
    try:
        leased = await asyncio.gather(rig.sender.drain(), *(s.drain() for s in others))
    finally:
        for s in others:
            await s.aclose()

    assert sum(leased) == 2
    assert sorted(m.to for m in rig.double.messages) == [ALICE_PHONE, DAVE_PHONE]
    assert [r["status"] for r in await rig.rows()] == ["sent", "sent"]
    for incident_id in (web, landline):
        assert await rig.lines(incident_id, "paged") != []


# --- 5. Twilio delivery reports ---------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def running_daemon(aiohttp_server, aiohttp_client, database_url: str, *, run_engine: bool = True):
    """The whole daemon listening where its public_url says, so Twilio's StatusCallback reaches it as is."""
    async with twilio_double.running() as double:
        with smtp_double.smtp_server() as (mailbox, smtp_port):
            port = test_utils.unused_port()
            fake = clock.ManualClock(START)
            settings = outbox_settings(double, smtp_port, public_url=f"http://127.0.0.1:{port}")
            app = daemon.create_app(settings, database_url=database_url, clock=fake, run_engine=run_engine)
            server = await aiohttp_server(app, port=port)
            client = await aiohttp_client(server)
            try:
                yield client, double, mailbox, fake
            finally:
                await client.close()  # stop the daemon before its database is dropped


async def open_by_api(client, service: str = "web") -> int:
    resp = await client.post(
        "/api/v1/incidents", json={"service": service, "summary": "disk full", "priority": "P0"}, headers=support.API
    )
    assert resp.status == 201, await resp.text()
    return int((await resp.json())["id"])


async def page_rows(pool: db.Pool, incident_id: int) -> list[dict[str, typing.Any]]:
    return [
        dict(r) for r in await pool.fetch("SELECT * FROM notifications WHERE incident_id = $1 ORDER BY id", incident_id)
    ]


async def test_undelivered_callback_fails_the_page_and_falls_back_to_email(
    aiohttp_server, aiohttp_client, database_url, pool
):
    async with running_daemon(aiohttp_server, aiohttp_client, database_url) as (client, double, mailbox, fake):
        incident_id = await open_by_api(client)
        [sms_] = await wait.eventually(lambda: double.messages)
        assert sms_.status_callback == f"http://127.0.0.1:{client.port}/v1/twilio/status"
        await wait.eventually(lambda: recorded(pool, incident_id))

        answer = await double.post_status(sms_.sid, "undelivered", error_code=30006)
        assert answer.status == 204

        [(_, rcpt_tos, mail)] = await wait.eventually(lambda: mailbox.received)
        assert rcpt_tos == ["alice@example.com"] and f"(#{incident_id})" in mail["Subject"]
        await wait.eventually(lambda: recorded(pool, incident_id, 2))
        sms_row, email_row = await page_rows(pool, incident_id)
        assert (sms_row["channel"], sms_row["status"], sms_row["error"]) == ("sms", "failed", "Twilio error 30006")
        assert sms_row["delivered_at"] is None
        assert (email_row["channel"], email_row["status"]) == ("email", "sent")
        log = await timeline(pool, incident_id)
        assert [k for k, _ in log] == ["triggered", "escalated", "paged", "page_undelivered", "page_fallback", "paged"]
        assert log[3][1] == "sms to Alice was not delivered (Twilio error 30006)"
        text = await (await client.get("/metrics")).text()
        assert 'pager_notifications_total{channel="sms",outcome="undelivered"} 1.0' in text
        assert 'pager_notifications_total{channel="email",outcome="sent"} 1.0' in text
        assert len(double.messages) == 1


async def test_delivered_callback_records_delivery(aiohttp_server, aiohttp_client, database_url, pool):
    async with running_daemon(aiohttp_server, aiohttp_client, database_url) as (client, double, mailbox, fake):
        incident_id = await open_by_api(client)
        [sms_] = await wait.eventually(lambda: double.messages)
        await wait.eventually(lambda: recorded(pool, incident_id))
        await fake.advance(datetime.timedelta(seconds=7))

        assert (await double.post_status(sms_.sid, "sent")).status == 204  # not final: changes nothing
        assert (await double.post_status(sms_.sid, "delivered")).status == 204

        [row] = await page_rows(pool, incident_id)
        assert (row["status"], row["provider_id"]) == ("delivered", sms_.sid)
        assert row["delivered_at"] == START + datetime.timedelta(seconds=7)
        assert [k for k, _ in await timeline(pool, incident_id)] == [
            "triggered",
            "escalated",
            "paged",
            "page_delivered",
        ]
        text = await (await client.get("/metrics")).text()
        assert 'pager_notifications_total{channel="sms",outcome="delivered"} 1.0' in text
        assert mailbox.received == []


async def test_forged_delivery_callback_is_refused_and_changes_nothing(
    aiohttp_server, aiohttp_client, database_url, pool
):
    async with running_daemon(aiohttp_server, aiohttp_client, database_url) as (client, double, mailbox, fake):
        incident_id = await open_by_api(client)
        [sms_] = await wait.eventually(lambda: double.messages)
        await wait.eventually(lambda: recorded(pool, incident_id))
        before = (await page_rows(pool, incident_id), await timeline(pool, incident_id))

        forged = await double.post_status(sms_.sid, "undelivered", error_code=30006, signature="AAAAforged=")
        unsigned = await double.post_signed(
            sms_.status_callback or "", {"MessageSid": sms_.sid, "MessageStatus": "undelivered"}, signature=""
        )
        other_key = twilio_double.TwilioDouble(auth_token="0" * 32)
        other_key.messages = double.messages
        wrong_token = await other_key.post_status(sms_.sid, "undelivered", error_code=30006)

        assert (forged.status, unsigned.status, wrong_token.status) == (403, 403, 403)
        await asyncio.sleep(0.05)  # give a (wrongly) woken sender the chance to do something
        assert (await page_rows(pool, incident_id), await timeline(pool, incident_id)) == before
        assert mailbox.received == [] and len(double.messages) == 1


async def recorded(pool: db.Pool, incident_id: int, n: int = 1) -> bool:
    """The sender has finished with its n-th send for the incident: 'paged' is the last thing it writes."""
    return [k for k, _ in await timeline(pool, incident_id)].count("paged") >= n


async def test_undelivered_bundle_falls_back_for_every_incident_in_it(rig):
    first, second = await rig.open(), await rig.open()
    await rig.engine.tick()
    await rig.sender.drain()
    [bundle] = rig.double.messages
    assert f"+1 more: #{second}" in bundle.body

    await rig.sender.delivery(bundle.sid, "undelivered", "Twilio error 30006")
    await rig.sender.drain()

    for incident_id in (first, second):  # both SMS pages failed, so both incidents are told and paged by email
        assert [(r["channel"], r["status"]) for r in await rig.rows(incident_id)] == [
            ("sms", "failed"),
            ("email", "sent"),
        ], incident_id
        assert await rig.lines(incident_id, "page_undelivered"), incident_id
        assert await rig.lines(incident_id, "page_fallback"), incident_id


class ReportsBeforeRecord:
    """Twilio's status callback overtaking the sender: the report arrives before the send is recorded."""

    def __init__(
        self, inner: message.Notifier, rig: Rig, report: str = "undelivered", error: str | None = "Twilio error 30006"
    ) -> None:
        self.inner, self.rig, self.report, self.error = inner, rig, report, error

    async def send(self, msg: message.Message) -> message.Outcome:
        outcome = await self.inner.send(msg)
        if outcome.ok and msg.channel == "sms":
            assert await self.rig.sender.delivery(outcome.provider_id or "", self.report, self.error) == []
        return outcome

    async def aclose(self) -> None:
        await self.inner.aclose()


async def pending_reports(pool: db.Pool) -> list[str]:
    return [
        r["provider_id"]
        for r in await pool.fetch("SELECT provider_id FROM delivery_reports_pending ORDER BY received_at")
    ]


async def test_an_undelivered_report_that_overtakes_the_send_record_still_falls_back(rig):
    rig.sender.notifiers["sms"] = ReportsBeforeRecord(rig.sender.notifiers["sms"], rig)
    incident_id = await rig.page_now()
    await rig.sender.drain()

    assert [(r["channel"], r["status"]) for r in await rig.rows(incident_id)] == [("sms", "failed"), ("email", "sent")]
    assert (await rig.rows(incident_id))[0]["error"] == "Twilio error 30006"
    assert await rig.kinds(incident_id) == [
        "triggered",
        "escalated",
        "paged",
        "page_undelivered",
        "page_fallback",
        "paged",
    ]
    assert await rig.lines(incident_id, "page_undelivered") == ["sms to Alice was not delivered (Twilio error 30006)"]
    assert rig.count("sms", "undelivered") == 1 and rig.count("email", "sent") == 1
    assert await pending_reports(rig.pool) == []


async def test_a_delivered_report_that_overtakes_the_send_record_is_recorded(rig):
    rig.sender.notifiers["sms"] = ReportsBeforeRecord(rig.sender.notifiers["sms"], rig, "delivered", None)
    incident_id = await rig.page_now()
    await rig.sender.drain()

    [row] = await rig.rows(incident_id)
    assert (row["status"], row["delivered_at"], row["error"]) == ("delivered", START, None)
    assert await rig.kinds(incident_id) == ["triggered", "escalated", "paged", "page_delivered"]
    assert rig.count("sms", "delivered") == 1 and rig.mailbox.received == []
    assert await pending_reports(rig.pool) == []


async def test_a_report_racing_the_send_record_waits_for_it_instead_of_missing_it(rig):
    incident_id = await rig.open()
    await rig.engine.tick()
    [page] = await rig.outbox.claim(rig.clock.now(), 10, sender.LEASE, urgent=True)
    async with rig.pool.acquire() as conn, conn.transaction():  # the first half of Outbox.sent
        await conn.execute(sql.QUERIES["lock_provider_ids"], ["SMrace"])
        await conn.execute(sql.QUERIES["mark_sent"], [page.id], rig.clock.now(), ["SMrace"])
        report = asyncio.create_task(rig.outbox.delivery("SMrace", "undelivered", None, rig.clock.now()))
        await asyncio.sleep(0.2)
        assert not report.done()

    assert [(d.id, d.status, d.report) for d in await report] == [(page.id, "failed", "undelivered")]
    assert [r["status"] for r in await rig.rows(incident_id)] == ["failed"]
    assert await pending_reports(rig.pool) == []


async def test_reports_no_send_claims_are_pruned_after_a_day(rig):
    assert await rig.sender.delivery("SMstale", "undelivered", None) == []
    await rig.clock.advance(datetime.timedelta(days=1, seconds=1))
    assert await rig.sender.delivery("SMfresh", "delivered", None) == []

    assert await pending_reports(rig.pool) == ["SMfresh"]


# --- 6. acknowledging cancels pending pages in the same transaction ---------------------------------------------------


async def test_acknowledging_by_api_cancels_queued_pages_before_they_are_sent(make_client, pool):
    async with twilio_double.running() as double:
        with smtp_double.smtp_server() as (mailbox, port):
            fake = clock.ManualClock(START)
            client = await make_client(outbox_settings(double, port), clock=fake)
            incident_id = await open_by_api(client)
            assert await client.app[keys.ENGINE].tick() == 1
            assert [r["status"] for r in await page_rows(pool, incident_id)] == ["pending"]

            resp = await client.post(
                f"/api/v1/incidents/{incident_id}/acknowledge", json={"user": "alice"}, headers=support.API
            )
            assert resp.status == 200 and (await resp.json())["status"] == "acknowledged"
            assert [r["status"] for r in await page_rows(pool, incident_id)] == ["cancelled"]

            assert await client.app[keys.SENDER].drain() == 0
            await fake.advance(10 * MIN)
            await client.app[keys.ENGINE].tick()
            assert await client.app[keys.SENDER].drain() == 0
            assert double.requests == [] and mailbox.received == []
            assert [r["status"] for r in await page_rows(pool, incident_id)] == ["cancelled"]
            assert "paged" not in [k for k, _ in await timeline(pool, incident_id)]


async def test_acknowledging_cancels_pages_waiting_out_a_retry_or_a_throttle_hold(rig):
    busy = [await rig.page_now() for _ in range(5)]  # alice is at her limit
    retrying = await rig.open("landline")
    rig.double.fail_next(FAST.attempts, 503)
    await rig.engine.tick()
    await rig.sender.drain()
    [row] = await rig.rows(retrying)
    assert (row["status"], row["not_before"]) == ("pending", START + datetime.timedelta(seconds=5))
    assert await rig.store.acknowledge(retrying, "dave", "api", rig.clock.now())  # while it waits out its backoff

    await rig.clock.advance(MIN)
    await rig.engine.tick()
    await rig.sender.drain()  # round 2 of the five: held until 12:15
    assert rig.count("sms", "throttled") == 5
    for incident_id in (busy[0], busy[2]):  # while they are held
        assert await rig.store.acknowledge(incident_id, "alice", "api", rig.clock.now())

    await rig.clock.set(START + 15 * MIN)
    await rig.engine.tick()
    await rig.sender.drain()

    assert len(rig.sms_to(DAVE_PHONE)) == 0 and len(rig.double.requests) == 5 + FAST.attempts + 1
    bundle = rig.double.messages[-1]
    assert f" #{busy[1]} ack: " in bundle.body and bundle.body.endswith(f"\n+2 more: #{busy[3]} #{busy[4]}")
    for incident_id in (busy[0], busy[2]):
        assert [r["status"] for r in await rig.rows(incident_id)] == ["sent", "cancelled"]
    assert [r["status"] for r in await rig.rows(retrying)] == ["cancelled"]
    for incident_id in (busy[1], busy[3], busy[4]):
        assert [r["status"] for r in await rig.rows(incident_id)] == ["sent", "sent"]


# --- 7. metrics -------------------------------------------------------------------------------------------------------


async def test_notification_metrics_appear_in_metrics_after_sends(aiohttp_server, aiohttp_client, database_url, pool):
    async with running_daemon(aiohttp_server, aiohttp_client, database_url) as (client, double, mailbox, fake):
        before = await (await client.get("/metrics")).text()
        assert 'pager_notifications_total{channel="sms"' not in before

        incident_id = await open_by_api(client)
        await wait.eventually(lambda: double.messages)
        await wait.eventually(lambda: recorded(pool, incident_id))

        resp = await client.get("/metrics")
        assert resp.status == 200
        text = await resp.text()
        assert 'pager_notifications_total{channel="sms",outcome="sent"} 1.0' in text
        assert 'pager_notification_delay_seconds_count{channel="sms"} 1.0' in text
        assert 'pager_notification_delay_seconds_bucket{channel="sms",le="+Inf"} 1.0' in text
        assert "# TYPE pager_notification_delay_seconds histogram" in text
