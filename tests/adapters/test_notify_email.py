from __future__ import annotations

import dataclasses
import datetime
import typing

import pytest
from aiosmtpd import smtp

from pager import models
from pager.notify import email as email_notify
from pager.notify import message
from tests.support import smtp_double

SENDER = "pager@example.com"
ACK = "https://pager.example.com/a/Xk3vQ9bN2mLp7RtY4wZc1A"
FAST = message.RetryPolicy(
    attempts=4,
    deadline=datetime.timedelta(seconds=20),
    attempt_timeout=datetime.timedelta(seconds=5),
    backoff=datetime.timedelta(milliseconds=1),
    backoff_max=datetime.timedelta(milliseconds=10),
)
PAGE = message.Message(
    incident_id=1234,
    number=1234,
    priority=models.Priority.P0,
    service="checkout",
    summary="5xx above 5%",
    user_id="alice",
    user_name="Alice",
    channel="email",
    address="alice@example.com",
    ack_url=ACK,
    runbook_url="https://wiki.example.com/runbooks/checkout-5xx",
    more=((12, "disk almost full"), (13, "queue backlog growing")),
)


def notifier(port: int, **options: typing.Any) -> email_notify.SmtpEmail:
    return email_notify.SmtpEmail(host="127.0.0.1", port=port, sender=SENDER, retry=FAST, **options)


async def test_page_arrives_by_email_with_subject_and_links() -> None:
    with smtp_double.smtp_server() as (mailbox, port):
        outcome = await notifier(port).send(PAGE)

    assert outcome.ok and outcome.attempts == 1
    [(mail_from, rcpt_tos, mail)] = mailbox.received
    assert mail_from == SENDER and rcpt_tos == ["alice@example.com"]
    assert mail["Subject"] == "[P0] checkout: 5xx above 5% (#1234)"
    assert mail["From"] == SENDER and mail["To"] == "alice@example.com"
    assert mail["Message-ID"] == outcome.provider_id
    assert mail["Auto-Submitted"] == "auto-generated"
    body = mail.get_content().replace("\r\n", "\n")
    assert "P0 incident #1234 on checkout needs you, Alice." in body
    assert "5xx above 5%" in body
    assert f"Acknowledge or resolve: {ACK}" in body
    assert "Runbook: https://wiki.example.com/runbooks/checkout-5xx" in body
    assert "  #12 disk almost full\n  #13 queue backlog growing" in body


async def test_pages_of_one_incident_thread_together() -> None:
    with smtp_double.smtp_server() as (mailbox, port):
        sender = notifier(port)
        await sender.send(PAGE)
        await sender.send(dataclasses.replace(PAGE, more=()))

    first, second = (mail for _, _, mail in mailbox.received)
    assert first["Message-ID"] != second["Message-ID"]
    assert first["References"] == second["References"]


async def test_summary_cannot_inject_headers() -> None:
    with smtp_double.smtp_server() as (mailbox, port):
        outcome = await notifier(port).send(dataclasses.replace(PAGE, summary="disk full\r\nBcc: eve@example.com"))

    assert outcome.ok
    [(_, rcpt_tos, mail)] = mailbox.received
    assert rcpt_tos == ["alice@example.com"] and mail["Bcc"] is None
    assert mail["Subject"] == "[P0] checkout: disk full Bcc: eve@example.com (#1234)"


async def test_pages_in_a_row_go_over_one_smtp_session_and_a_refusal_does_not_stop_the_next() -> None:
    """An email storm's pages do not each connect, EHLO and QUIT (they did, one session per page)."""
    with smtp_double.smtp_server() as (mailbox, port):
        smtp = notifier(port)
        try:
            for n in range(3):
                assert (await smtp.send(dataclasses.replace(PAGE, number=n))).ok
            mailbox.refuse("RCPT", "550 5.1.1 User unknown")
            refused = await smtp.send(dataclasses.replace(PAGE, number=3))
            after = await smtp.send(dataclasses.replace(PAGE, number=4))
        finally:
            await smtp.aclose()

    assert [m["X-Pager-Incident"] for _, _, m in mailbox.received] == ["0", "1", "2", "4"]
    assert refused.permanent and after.ok and after.attempts == 1
    assert mailbox.sessions == 2  # the refused page's session was closed; the next one opened a new one


async def test_a_kept_session_the_server_closed_costs_the_next_page_no_retry() -> None:
    port = smtp_double.free_port()
    smtp = notifier(port)
    try:
        with smtp_double.smtp_server(port=port) as (first, _):
            assert (await smtp.send(PAGE)).ok
        with smtp_double.smtp_server(port=port) as (second, _):  # restarted: the kept session is gone
            outcome = await smtp.send(dataclasses.replace(PAGE, number=2))
    finally:
        await smtp.aclose()

    assert outcome.ok and outcome.attempts == 1
    assert len(first.received) == 1 and [m["X-Pager-Incident"] for _, _, m in second.received] == ["2"]


async def test_login_when_the_server_requires_it() -> None:
    def authenticate(
        server: smtp.SMTP, session: smtp.Session, envelope: smtp.Envelope, mechanism: str, data: smtp.LoginPassword
    ) -> smtp.AuthResult:
        return smtp.AuthResult(success=(data.login, data.password) == (b"pager", b"s3cret"), handled=False)

    auth = {"authenticator": authenticate, "auth_required": True, "auth_require_tls": False}
    insecure = pytest.warns(UserWarning, match="Requiring AUTH while not requiring TLS")
    with insecure, smtp_double.smtp_server(**auth) as (mailbox, port):
        good = await notifier(port, username="pager", password="s3cret").send(PAGE)
        bad = await notifier(port, username="pager", password="wrong").send(PAGE)

    assert good.ok
    assert not bad.ok and bad.permanent and "535" in bad.error
    assert len(mailbox.received) == 1


@pytest.mark.parametrize(
    ("stage", "reply"),
    [
        ("RCPT", "451 4.3.0 smtp_double.Mailbox temporarily unavailable"),
        ("RCPT", "450 4.2.1 Greylisted, try again"),
        ("DATA", "452 4.3.1 Insufficient system storage"),
    ],
)
async def test_smtp_4xx_is_retried_until_delivered(stage: str, reply: str) -> None:
    with smtp_double.smtp_server() as (mailbox, port):
        mailbox.refuse(stage, reply, n=2)
        outcome = await notifier(port).send(PAGE)

    assert outcome.ok and outcome.attempts == 3
    assert len(mailbox.received) == 1


async def test_smtp_4xx_every_time_is_a_temporary_failure() -> None:
    with smtp_double.smtp_server() as (mailbox, port):
        mailbox.refuse("RCPT", "451 4.3.0 Try again later", n=10)
        outcome = await notifier(port).send(PAGE)

    assert not outcome.ok and not outcome.permanent
    assert outcome.attempts == FAST.attempts == mailbox.attempts
    assert "451" in outcome.error
    assert mailbox.received == []


@pytest.mark.parametrize(
    ("stage", "reply"),
    [
        ("RCPT", "550 5.1.1 <alice@example.com>: Recipient address rejected: User unknown"),
        ("RCPT", "554 5.7.1 Relay access denied"),
        ("DATA", "552 5.3.4 Message size exceeds fixed limit"),
    ],
)
async def test_smtp_5xx_fails_at_once(stage: str, reply: str) -> None:
    with smtp_double.smtp_server() as (mailbox, port):
        mailbox.refuse(stage, reply)
        outcome = await notifier(port).send(PAGE)

    assert not outcome.ok and outcome.permanent and outcome.attempts == 1
    assert reply[:3] in outcome.error
    assert mailbox.attempts == 1 and mailbox.received == []


async def test_no_smtp_server_is_a_temporary_failure() -> None:
    outcome = await notifier(smtp_double.free_port()).send(PAGE)

    assert not outcome.ok and not outcome.permanent
    assert outcome.attempts == FAST.attempts
    assert "cannot reach SMTP server" in outcome.error


def test_subject_keeps_long_summaries_readable() -> None:
    subject = email_notify.subject(dataclasses.replace(PAGE, summary="x" * 500))
    assert subject.startswith("[P0] checkout: xxx") and subject.endswith("… (#1234)")
    assert len(subject) < 160
