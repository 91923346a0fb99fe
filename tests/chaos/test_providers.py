"""The daemon's own loops against providers that misbehave: Twilio rate-limiting (429 with Retry-After),
answering slowly, not answering at all, and an SMTP server that is down and then comes back.

Every page must still reach its person (by SMS, or by email when SMS fails for good), none twice.
The engine and the sender run by themselves on a ManualClock, so outbox retries minutes apart take
no real time; the notifiers' own timeouts are real, and short.
"""

from __future__ import annotations

import asyncio
import datetime
import time

from pager import clock
from pager.notify import email as email_notify
from pager.notify import message, sms
from pager.web import keys
from tests import support
from tests.support import http, smtp_double, twilio_double

START = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)
FROM = "+15005550006"
EDGE = message.RetryPolicy(
    attempts=3,
    deadline=datetime.timedelta(seconds=5),
    attempt_timeout=datetime.timedelta(milliseconds=150),
    backoff=datetime.timedelta(milliseconds=1),
    backoff_max=datetime.timedelta(milliseconds=5),
)

CONFIG = """
users:
  - {{id: alice, name: Alice, phone: "+15551230001", email: alice@example.com}}
  - {{id: bob, name: Bob, phone: "+15551230002", email: bob@example.com}}
  - {{id: carol, name: Carol, phone: "+15551230003", email: carol@example.com}}
escalation_policies:
  - {{id: alice, steps: [{{targets: ["user:alice"], ack_timeout: 1h}}]}}
  - {{id: bob, steps: [{{targets: ["user:bob"], ack_timeout: 1h}}]}}
  - {{id: carol, steps: [{{targets: ["user:carol"], ack_timeout: 1h}}]}}
services:
  - {{id: limited, escalation_policy: alice}}
  - {{id: slow, escalation_policy: bob}}
  - {{id: silent, escalation_policy: carol}}
  - {{id: mail, escalation_policy: alice}}
  - {{id: web, escalation_policy: alice}}
notifiers:
  sms: {{from: "{sms_from}", api_base: "{twilio}"}}
  email: {{host: 127.0.0.1, port: {smtp_port}, from: pager@example.com}}
  console: {{enabled: false}}
priorities:
  P0: {{channels: [sms]}}
  P2: {{channels: [email]}}
"""


async def _daemon(make_client, double: twilio_double.TwilioDouble, smtp_port: int, fake: clock.ManualClock):
    env = {**support.ENV, "TWILIO_ACCOUNT_SID": double.account_sid, "TWILIO_AUTH_TOKEN": double.auth_token}
    settings = support.settings(CONFIG.format(sms_from=FROM, twilio=double.url, smtp_port=smtp_port), env)
    client = await make_client(settings, clock=fake, run_engine=True)
    sender = client.app[keys.SENDER]
    for notifier in sender.notifiers.values():
        await notifier.aclose()
    sender.notifiers = {  # the configured channels, with short real timeouts
        "sms": sms.TwilioSms(
            account_sid=double.account_sid,
            auth_token=double.auth_token,
            from_number=FROM,
            api_base=double.url,
            retry=EDGE,
        ),
        "email": email_notify.SmtpEmail(host="127.0.0.1", port=smtp_port, sender="pager@example.com", retry=EDGE),
    }
    return client


async def _until(predicate, what: str, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while not (value := await predicate()):
        assert time.monotonic() < deadline, f"{what}: not within {timeout}s"
        await asyncio.sleep(0.01)
    return value


async def _kinds(client, incident_id: int) -> list[str]:
    return [e["kind"] for e in (await http.detail(client, incident_id))["timeline"]]


def _to(double: twilio_double.TwilioDouble, phone: str) -> list[twilio_double.Message]:
    return [m for m in double.messages if m.to == phone]


async def test_twilio_rate_limiting_slowness_and_silence_lose_no_page(make_client, pool):
    async with twilio_double.running() as double:
        with smtp_double.smtp_server() as (mailbox, smtp_port):
            fake = clock.ManualClock(START)
            client = await _daemon(make_client, double, smtp_port, fake)

            # 429 with Retry-After, twice: retried at the edge, sent once.
            double.fail_next(2, 429, retry_after="1")
            limited = await http.open_incident(client, "rate limited", service="limited", priority="P0")
            await _until(lambda: _now(_to(double, "+15551230001")), "alice paged through the 429s")
            assert [r.answered for r in double.requests] == [429, 429, 201]
            await _until(lambda: _has(client, limited, "paged"), "alice's page on the timeline")

            # Slow, but inside the timeout: sent once, never retried.
            double.slow_next(1, seconds=0.1)
            before = len(double.requests)
            slow = await http.open_incident(client, "slow twilio", service="slow", priority="P0")
            await _until(lambda: _now(_to(double, "+15551230002")), "bob paged by a slow Twilio")
            assert [r.answered for r in double.requests[before:]] == [201]
            await _until(lambda: _has(client, slow, "paged"), "bob's page on the timeline")

            # No answer at all, ever: the outbox retries as the clock moves on, then falls back to email.
            double.stall_next(1000, seconds=1.0)
            silent = await http.open_incident(client, "twilio silent", service="silent", priority="P0")
            for _ in range(20):
                state = await _until(lambda: _settled_sms(pool, silent, fake.now()), "an SMS attempt to carol")
                if state == "failed":
                    break
                await fake.advance(datetime.timedelta(minutes=5))  # past the outbox's next retry
            await _until(lambda: _has(client, silent, "page_fallback"), "carol's fallback on the timeline")
            await _until(lambda: _now([m for m in mailbox.received if "carol@example.com" in m[1]]), "carol by email")

    assert len(_to(double, "+15551230001")) == 1 and len(_to(double, "+15551230002")) == 1
    assert _to(double, "+15551230003") == []
    assert len([m for m in mailbox.received if "carol@example.com" in m[1]]) == 1
    kinds = await _kinds(client, silent)
    assert kinds.count("page_retry") == 7 and kinds.count("page_failed") == 1
    assert kinds[-1] == "paged"  # by email: nothing dropped


async def test_smtp_down_then_up_delivers_the_page_once(make_client):
    async with twilio_double.running() as double:
        smtp_port = smtp_double.free_port()  # nothing listens there yet
        fake = clock.ManualClock(START)
        client = await _daemon(make_client, double, smtp_port, fake)
        incident = await http.open_incident(client, "mail server down", service="mail", priority="P2")
        await _until(lambda: _has(client, incident, "page_retry"), "the page waiting for SMTP")

        with smtp_double.smtp_server(port=smtp_port) as (mailbox, _):
            await fake.advance(datetime.timedelta(minutes=5))
            await _until(lambda: _has(client, incident, "paged"), "the page sent once SMTP is back")
            [(_, rcpt, mail)] = mailbox.received

    assert rcpt == ["alice@example.com"] and f"(#{incident})" in mail["Subject"]
    kinds = await _kinds(client, incident)
    assert kinds.count("page_retry") == 1 and kinds.count("paged") == 1


async def _now(value):
    return value


async def _has(client, incident_id: int, kind: str) -> bool:
    return kind in await _kinds(client, incident_id)


async def _settled_sms(pool, incident_id: int, now: datetime.datetime) -> str | None:
    """'retry' while the SMS waits for its next attempt, 'failed' once given up on; None while one runs."""
    row = await pool.fetchrow(
        "SELECT status, not_before FROM notifications WHERE incident_id = $1 AND channel = 'sms'", incident_id
    )
    if row is None:
        return None
    if row["status"] == "failed":
        return "failed"
    return "retry" if row["status"] == "pending" and row["not_before"] > now else None
