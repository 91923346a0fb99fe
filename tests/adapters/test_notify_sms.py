from __future__ import annotations

import base64
import collections.abc
import contextlib
import dataclasses
import datetime
import socket

import pytest
import structlog
from aiohttp import web
from twilio import request_validator

from pager import models
from pager.notify import message, sms, sms_text
from tests.support import twilio_double

FROM = "+15005550006"
TO = "+15551230001"
PUBLIC_URL = "https://pager.example.com"
TOKEN = "Xk3vQ9bN2mLp7RtY4wZc1A"
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
    channel="sms",
    address=TO,
    ack_url=f"{PUBLIC_URL}/a/{TOKEN}",
)


@contextlib.asynccontextmanager
async def twilio_and_notifier(
    **options: object,
) -> collections.abc.AsyncIterator[tuple[twilio_double.TwilioDouble, sms.TwilioSms]]:
    async with twilio_double.running() as double:
        settings: dict[str, object] = {"from_number": FROM, "public_url": PUBLIC_URL, "retry": FAST}
        settings.update(options)
        notifier = sms.TwilioSms(
            account_sid=double.account_sid,
            auth_token=double.auth_token,
            api_base=double.url,
            **settings,  # type: ignore[arg-type]
        )
        try:
            yield double, notifier
        finally:
            await notifier.aclose()


async def test_page_arrives_at_twilio_with_its_fields_and_auth() -> None:
    async with twilio_and_notifier() as (double, notifier):
        outcome = await notifier.send(PAGE)

    assert outcome.ok and outcome.attempts == 1
    [request] = double.requests
    assert request.path == f"/2010-04-01/Accounts/{double.account_sid}/Messages.json"
    assert request.auth == (double.account_sid, double.auth_token)
    assert request.form == {
        "To": TO,
        "From": FROM,
        "Body": f"[P0] checkout: 5xx above 5% #1234 ack: {PUBLIC_URL}/a/{TOKEN} or reply 1234",
        "StatusCallback": f"{PUBLIC_URL}/v1/twilio/status",
    }
    [sent] = double.messages
    assert outcome.provider_id == sent.sid and sent.sid.startswith("SM") and len(sent.sid) == 34


async def test_messaging_service_without_public_url() -> None:
    async with twilio_and_notifier(from_number=None, messaging_service_sid="MG" + "a" * 32, public_url=None) as (
        double,
        notifier,
    ):
        outcome = await notifier.send(PAGE)

    assert outcome.ok
    [request] = double.requests
    assert request.form["MessagingServiceSid"] == "MG" + "a" * 32
    assert "From" not in request.form and "StatusCallback" not in request.form


async def test_bundled_long_page_is_one_gsm7_segment() -> None:
    page = dataclasses.replace(
        PAGE,
        summary="Checkout API p99 latency “above 2s” and 5xx ratio above 5% on every pod in eu-west-1 since deploy 🔥",
        more=((12, "disk full"), (13, "queue backlog")),
    )
    async with twilio_and_notifier() as (double, notifier):
        assert (await notifier.send(page)).ok

    body = double.messages[0].body
    assert sms_text.is_gsm7(body) and sms_text.segments(body) == 1
    assert f"ack: {PUBLIC_URL}/a/{TOKEN} or reply 1234" in body
    assert body.endswith("\n+2 more: #12 #13")


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_twilio_down_three_times_then_up_delivers_exactly_once(status: int) -> None:
    async with twilio_and_notifier() as (double, notifier):
        double.fail_next(3, status=status)
        outcome = await notifier.send(PAGE)

    assert outcome.ok and outcome.attempts == 4
    assert [r.answered for r in double.requests] == [status, status, status, 201]
    assert len(double.messages) == 1
    assert outcome.provider_id == double.messages[0].sid


async def test_twilio_down_for_every_attempt_is_a_temporary_failure() -> None:
    async with twilio_and_notifier() as (double, notifier):
        double.fail_next(10, status=503)
        outcome = await notifier.send(PAGE)

    assert not outcome.ok and not outcome.permanent
    assert outcome.attempts == FAST.attempts == len(double.requests)
    assert "503" in outcome.error
    assert double.messages == []


async def test_deadline_bounds_the_retries() -> None:
    policy = dataclasses.replace(
        FAST, attempts=1000, deadline=datetime.timedelta(milliseconds=300), backoff=datetime.timedelta(milliseconds=50)
    )
    async with twilio_and_notifier(retry=policy) as (double, notifier):
        double.fail_next(1000, status=500)
        outcome = await notifier.send(PAGE)

    assert not outcome.ok and not outcome.permanent
    assert 1 < outcome.attempts < 50


async def test_no_answer_in_time_is_retried() -> None:
    policy = dataclasses.replace(FAST, attempt_timeout=datetime.timedelta(milliseconds=200))
    async with twilio_and_notifier(retry=policy) as (double, notifier):
        double.stall_next(1, seconds=1.0)
        outcome = await notifier.send(PAGE)

    assert outcome.ok and outcome.attempts == 2
    assert len(double.messages) == 1


async def test_twilio_unreachable_is_a_temporary_failure() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    notifier = sms.TwilioSms(
        account_sid=twilio_double.ACCOUNT_SID,
        auth_token=twilio_double.AUTH_TOKEN,
        from_number=FROM,
        api_base=f"http://127.0.0.1:{closed_port}",
        retry=FAST,
    )
    try:
        outcome = await notifier.send(PAGE)
    finally:
        await notifier.aclose()

    assert not outcome.ok and not outcome.permanent
    assert outcome.attempts == FAST.attempts
    assert "cannot reach Twilio" in outcome.error


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (21211, "invalid 'To' phone number"),
        (21610, "unsubscribed"),
        (21614, "not a mobile number"),
        (30006, "Landline or unreachable carrier"),
        (21408, "Permission to send an SMS has not been enabled"),
    ],
)
async def test_permanent_twilio_errors_fail_at_once(code: int, reason: str) -> None:
    async with twilio_and_notifier() as (double, notifier):
        text = "Permission to send an SMS has not been enabled" if code == 21408 else None
        double.reject_next(code, n=1, message=text)
        outcome = await notifier.send(PAGE)

    assert not outcome.ok and outcome.permanent
    assert outcome.attempts == 1 and len(double.requests) == 1
    assert str(code) in outcome.error and reason in outcome.error
    assert double.messages == []


async def test_invalid_number_is_refused_by_twilio_as_permanent() -> None:
    async with twilio_and_notifier() as (double, notifier):
        outcome = await notifier.send(dataclasses.replace(PAGE, address="555-0100"))

    assert outcome.permanent and "21211" in outcome.error
    assert len(double.requests) == 1


async def test_wrong_credentials_fail_permanently() -> None:
    async with twilio_double.running() as double:
        notifier = sms.TwilioSms(
            account_sid=double.account_sid, auth_token="0" * 32, from_number=FROM, api_base=double.url, retry=FAST
        )
        try:
            outcome = await notifier.send(PAGE)
        finally:
            await notifier.aclose()

    assert not outcome.ok and outcome.permanent
    assert "20003" in outcome.error
    assert len(double.requests) == 1 and double.requests[0].answered == 401


async def test_logs_carry_no_secrets() -> None:
    async with twilio_and_notifier() as (double, notifier):
        double.fail_next(1)
        with structlog.testing.capture_logs() as logs:
            outcome = await notifier.send(PAGE)

    assert outcome.ok
    assert any(entry["event"] == "notify.sms" for entry in logs)
    text = repr(logs)
    basic = base64.b64encode(f"{double.account_sid}:{double.auth_token}".encode()).decode()
    for secret in (TOKEN, double.auth_token, basic):
        assert secret not in text


def test_notifier_needs_a_sender() -> None:
    with pytest.raises(ValueError, match="from_number or messaging_service_sid"):
        sms.TwilioSms(account_sid="AC1", auth_token="t")


async def test_double_signs_status_callbacks_as_twilio_does() -> None:
    received: list[tuple[str, dict[str, str], str]] = []

    async def status(request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        received.append((str(request.url), form, request.headers["X-Twilio-Signature"]))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/v1/twilio/status", status)
    app.router.add_post("/v1/twilio/sms", status)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    base = f"http://{host}:{port}"
    try:
        async with twilio_and_notifier(public_url=base) as (double, notifier):
            outcome = await notifier.send(PAGE)
            answer = await double.post_status(outcome.provider_id or "", "delivered")
            inbound = await double.post_inbound_sms(f"{base}/v1/twilio/sms", from_=TO, body="ack 1234")
    finally:
        await runner.cleanup()

    assert answer.status == 204 and inbound.status == 204
    validator = request_validator.RequestValidator(double.auth_token)
    (url, form, signature), (sms_url, sms_form, sms_signature) = received
    assert url == f"{base}/v1/twilio/status"
    assert form["MessageSid"] == outcome.provider_id and form["MessageStatus"] == "delivered"
    assert validator.validate(url, form, signature)
    assert sms_form["Body"] == "ack 1234" and sms_form["From"] == TO
    assert validator.validate(sms_url, sms_form, sms_signature)
    assert not request_validator.RequestValidator("wrong").validate(url, form, signature)
