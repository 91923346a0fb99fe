"""Stakeholder mail: its own outbox, delivered to a real SMTP server, retried when the relay fails for now.

It is not a page: nothing of it reaches the pages' outbox, the throttle or pager_notifications_total.
"""

from __future__ import annotations

import datetime
import typing

from pager import clock, engine, metrics, models, notify
from pager.sender import stakeholder_mail as mail_sender
from pager.store import escalations, stakeholder_mail, store
from tests import support
from tests.support import smtp_double

START = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)


def settings(port: int) -> typing.Any:
    return support.settings(
        f"""
priorities:
  P0: {{channels: [email]}}
stakeholders:
  - {{id: leadership, emails: [cto@example.com, vp@example.com], priorities: [P0]}}
  - {{id: search-team, emails: [search@example.com], services: [search]}}
notifiers:
  email: {{host: 127.0.0.1, port: {port}, from: pager@example.com}}
  console: {{enabled: false}}
"""
    )


async def declared(pool, cfg, fake, m) -> int:
    inc = await store.Store(pool).create_incident(
        service="web",
        policy="web",
        priority=models.Priority.P0,
        summary="checkout 5xx above 5%",
        labels={},
        annotations={},
        actor="test",
        now=fake.now(),
    )
    await engine.Engine(cfg, escalations.Escalations(pool), fake, m).tick()
    return inc


async def test_a_relay_failing_for_now_is_retried_and_the_mail_goes_once(pool):
    with smtp_double.smtp_server() as (mailbox, port):
        cfg = settings(port)
        fake = clock.ManualClock(START)
        m = metrics.Metrics()
        inc = await declared(pool, cfg, fake, m)
        mailbox.refuse("RCPT", "451 4.3.0 try again later", n=2)  # both recipients
        mailer = mail_sender.StakeholderMail(cfg, stakeholder_mail.Queue(pool), fake, m, notify.build(cfg))
        assert await mailer.drain() == 1
        row = await pool.fetchrow("SELECT status, not_before, error FROM stakeholder_mail")
        assert (row["status"], row["not_before"]) == ("pending", START + datetime.timedelta(seconds=5))
        assert "451" in row["error"]
        assert mailbox.received == []

        await fake.set(START + datetime.timedelta(seconds=5))
        assert await mailer.drain() == 1
        assert await mailer.drain() == 0
        [(sender, rcpt, sent)] = mailbox.received
        assert (sender, rcpt) == ("pager@example.com", ["cto@example.com", "vp@example.com"])
        assert sent["Subject"] == f"[P0] Declared: incident #{inc} on web - checkout 5xx above 5%"
        assert sent["X-Pager-Stakeholder"] == "leadership" and "/a/" not in sent.get_content()
        [line] = await pool.fetch("SELECT message FROM incident_log WHERE kind = 'stakeholders_notified'")
        assert line["message"] == "Told leadership (cto@example.com, vp@example.com) by email: incident declared"
        paged = await pool.fetch("SELECT address FROM notifications")
        assert paged and not {r["address"] for r in paged} & {"cto@example.com", "vp@example.com"}  # never a page
        samples = {s.labels["outcome"]: s.value for s in m.stakeholder_mail.collect()[0].samples}
        assert samples == {"retry": 1.0, "sent": 1.0}


async def test_a_refused_mail_fails_for_good_and_pages_carry_on(pool):
    with smtp_double.smtp_server() as (mailbox, port):
        cfg = settings(port)
        fake = clock.ManualClock(START)
        m = metrics.Metrics()
        await declared(pool, cfg, fake, m)
        mailbox.refuse("RCPT", "550 5.1.1 no such mailbox", n=2)
        mailer = mail_sender.StakeholderMail(cfg, stakeholder_mail.Queue(pool), fake, m, notify.build(cfg))
        await mailer.drain()
        row = await pool.fetchrow("SELECT status, error FROM stakeholder_mail")
        assert row["status"] == "failed" and "550" in row["error"]
        assert await mailer.outbox.next_due() is None


async def test_without_email_the_mail_fails_and_says_why(pool):
    cfg = support.settings(
        """
stakeholders: [{id: leadership, emails: [cto@example.com]}]
notifiers: {console: {enabled: false}}
"""
    )
    fake = clock.ManualClock(START)
    await declared(pool, cfg, fake, metrics.Metrics())
    mailer = mail_sender.StakeholderMail(cfg, stakeholder_mail.Queue(pool), fake, metrics.Metrics(), notify.build(cfg))
    await mailer.drain()
    row = await pool.fetchrow("SELECT status, error FROM stakeholder_mail")
    assert (row["status"], row["error"]) == ("failed", "no email channel is configured (notifiers.email)")
