"""Outgoing webhooks through the real daemon: signed, delivered at least once from the outbox, never in a page's way."""

from __future__ import annotations

import datetime
import hashlib
import hmac

from pager import clock
from tests import support
from tests.support import http, twilio_double, wait, webhook_sink

START = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)
SECRET = "webhook-signing-secret"


def hook_settings(sink, *, fmt: str = "json", twilio=None, events: str = "[triggered, acknowledged, resolved]"):
    env = {**support.ENV, "OPS_HOOK_URL": sink.url, "OPS_HOOK_SECRET": SECRET}
    sms = ""
    if twilio is not None:
        env |= {"TWILIO_ACCOUNT_SID": twilio.account_sid, "TWILIO_AUTH_TOKEN": twilio.auth_token}
        sms = f'  sms: {{from: "+15005550006", api_base: "{twilio.url}"}}\n'
    return support.settings(
        f"""
notifiers:
{sms}  console: {{enabled: false}}
priorities:
  P0: {{channels: [sms]}}
webhooks:
  - {{id: ops, url_env: OPS_HOOK_URL, secret_env: OPS_HOOK_SECRET, format: {fmt}, events: {events}}}
""",
        env,
    )


async def _value(v):
    return v


async def _posted(client, incident: int) -> list[str]:
    return [e["message"] for e in (await http.detail(client, incident))["timeline"] if e["kind"] == "posted"]


def signed(r: webhook_sink.Received) -> bool:
    want = "sha256=" + hmac.new(SECRET.encode(), r.body, hashlib.sha256).hexdigest()
    return r.headers.get("X-Pager-Signature") == want


async def test_an_endpoint_answering_500_twice_receives_the_delivery_once(make_client):
    async with webhook_sink.running() as sink:
        sink.fail_next(2, 500)
        client = await make_client(hook_settings(sink), clock=clock.ManualClock(START), run_engine=True)
        incident = await http.open_incident(client, "disk full on db-1")
        [got] = await wait.eventually(lambda: _value(sink.accepted))
        assert [r.answered for r in sink.requests] == [500, 500, 200]
        assert len({r.headers["X-Pager-Delivery"] for r in sink.requests}) == 1  # one delivery, retried
        assert all(signed(r) for r in sink.requests)
        body = got.json()
        assert (body["event"], body["incident"]["id"], body["incident"]["summary"]) == (
            "triggered",
            incident,
            "disk full on db-1",
        )
        assert got.headers["X-Pager-Event"] == "triggered" and got.headers["Content-Type"] == "application/json"
        posted = await wait.eventually(lambda: _posted(client, incident))
        assert posted == ["Posted triggered to webhook ops"]
        metrics = await (await client.get("/metrics")).text()
        assert 'pager_notifications_total{channel="webhook",outcome="sent"} 1.0' in metrics


async def test_events_arrive_in_order_and_only_those_subscribed(make_client):
    async with webhook_sink.running() as sink:
        settings = hook_settings(sink, events="[acknowledged, resolved]")
        client = await make_client(settings, clock=clock.ManualClock(START), run_engine=True)
        incident = await http.open_incident(client)
        await client.post(f"/api/v1/incidents/{incident}/acknowledge", json={"user": "bob"}, headers=support.API)
        await client.post(f"/api/v1/incidents/{incident}/resolve", json={"user": "bob"}, headers=support.API)
        await wait.eventually(lambda: _value(len(sink.accepted) == 2))
        bodies = [r.json() for r in sink.accepted]
        assert [b["event"] for b in bodies] == ["acknowledged", "resolved"]
        assert bodies[0]["actor"] == "bob" and bodies[0]["message"] == "Acknowledged by bob via api"


async def test_a_hanging_webhook_never_delays_a_page(make_client):
    async with webhook_sink.running() as sink, twilio_double.running() as twilio:
        sink.stall_next(3, seconds=20)
        client = await make_client(hook_settings(sink, twilio=twilio), clock=clock.ManualClock(START), run_engine=True)
        await http.post_am(client, support.am_payload([("fp1", "firing", {"severity": "critical"})]))
        [sms] = await wait.eventually(lambda: _value(twilio.messages), timeout=5)
        assert sms.to == "+15551230001"
        assert sink.accepted == []  # the webhook is still hanging while the page went out


async def test_slack_format_is_an_incoming_webhook_body(make_client):
    async with webhook_sink.running() as sink:
        client = await make_client(hook_settings(sink, fmt="slack"), clock=clock.ManualClock(START), run_engine=True)
        incident = await http.open_incident(client, "checkout 5xx above 5%")
        await client.post(f"/api/v1/incidents/{incident}/acknowledge", json={"user": "alice"}, headers=support.API)
        await wait.eventually(lambda: _value(len(sink.accepted) == 2))
        opened, acked = (r.json() for r in sink.accepted)
        assert opened["text"] == "[P1] #1 web opened: checkout 5xx above 5%"
        assert acked["text"] == "[P1] #1 web acknowledged by Alice: checkout 5xx above 5%"
        [attachment] = acked["attachments"]
        assert attachment["color"] == "#f9ab00" and attachment["fallback"] == acked["text"]
        assert {f["title"]: f["value"] for f in attachment["fields"]}["Status"] == "acknowledged"


async def test_an_endpoint_down_past_the_edge_s_retries_gets_the_delivery_from_the_outbox_later(make_client):
    async with webhook_sink.running() as sink:
        sink.fail_next(3, 503)  # every quick retry at the edge fails: the outbox holds it for later
        fake = clock.ManualClock(START)
        client = await make_client(hook_settings(sink), clock=fake, run_engine=True)
        incident = await http.open_incident(client)
        await wait.eventually(lambda: _kinds_include(client, incident, "post_retry"))
        assert sink.accepted == []
        await fake.advance(datetime.timedelta(seconds=5))  # the first backoff
        await wait.eventually(lambda: _value(sink.accepted))
        assert len({r.headers["X-Pager-Delivery"] for r in sink.requests}) == 1
        retry = [e["message"] for e in (await http.detail(client, incident))["timeline"] if e["kind"] == "post_retry"]
        assert retry == ["Posting triggered to webhook ops failed (HTTP 503); retrying with backoff for up to 24 h"]
        assert await wait.eventually(lambda: _posted(client, incident)) == [
            "Posted triggered to webhook ops after 2 attempts"
        ]


async def _kinds_include(client, incident: int, kind: str) -> bool:
    return kind in [e["kind"] for e in (await http.detail(client, incident))["timeline"]]
