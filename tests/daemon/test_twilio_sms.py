"""Replying to a page by SMS: Twilio's signed webhook, `ack 1234` / `res 1234`, only for who was paged."""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET

import pytest
from aiohttp import test_utils

from pager import daemon
from tests import support
from tests.support import http, twilio_double

PUBLIC_URL = "https://pager.example.com"
WEBHOOK = f"{PUBLIC_URL}/v1/twilio/sms"  # what Twilio is configured with and signs, behind the proxy
SMS_YAML = f"""
server: {{public_url: "{PUBLIC_URL}"}}
notifiers: {{sms: {{from: "+15005550006", api_base: "http://127.0.0.1:9"}}}}
"""
SMS_ENV = {
    **support.ENV,
    "TWILIO_ACCOUNT_SID": twilio_double.ACCOUNT_SID,
    "TWILIO_AUTH_TOKEN": twilio_double.AUTH_TOKEN,
}
ALICE, BOB, STRANGER = "+15551230001", "+15551230002", "+15559990000"


def inbound(from_: str, body: str) -> dict[str, str]:
    """The form Twilio's incoming-message webhook posts."""
    sid = "SM" + secrets.token_hex(16)
    return {
        "AccountSid": twilio_double.ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "Body": body,
        "From": from_,
        "FromCountry": "US",
        "MessageSid": sid,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "SmsStatus": "received",
        "To": "+15005550006",
        "ToCountry": "US",
    }


async def sms(client, from_, body, *, signature=None, sign_url=WEBHOOK, auth_token=twilio_double.AUTH_TOKEN):
    params = inbound(from_, body)
    if signature is None:
        signature = twilio_double.TwilioDouble(auth_token=auth_token).sign(sign_url, params)
    headers = {"X-Twilio-Signature": signature} if signature else {}
    return await client.post("/v1/twilio/sms", data=params, headers=headers)


async def reply_text(resp) -> str:
    assert resp.status == 200, await resp.text()
    assert resp.content_type == "text/xml"
    root = ET.fromstring(await resp.text())
    assert root.tag == "Response"
    [message] = root.findall("Message")
    return message.text or ""


@pytest.fixture
async def client(make_client):
    return await make_client(support.settings(SMS_YAML, SMS_ENV))


@pytest.fixture
async def alices(client, pool):
    """An incident paged to Alice."""
    incident_id = await http.open_incident(client, summary="checkout 5xx above 5%")
    await http.paged(pool, incident_id, "alice", ALICE)
    return incident_id


@pytest.mark.parametrize("body", ["ack {n}", "ACK #{n}", "{n}", " Ack {n}! "])
async def test_ack_from_the_paged_users_phone(client, alices, body):
    text = await reply_text(await sms(client, ALICE, body.format(n=alices)))

    assert text == f"Acknowledged #{alices}: checkout 5xx above 5%"
    inc = await http.detail(client, alices)
    assert inc["status"] == "acknowledged" and inc["acknowledged_by"] == "alice"
    [entry] = [e for e in inc["timeline"] if e["kind"] == "acknowledged"]
    assert entry["actor"] == "alice" and entry["details"] == {"via": "sms"}


@pytest.mark.parametrize("body", ["RES {n}", "resolve {n}", "r {n}"])
async def test_res_resolves(client, alices, body):
    text = await reply_text(await sms(client, ALICE, body.format(n=alices)))

    assert text == f"Resolved #{alices}: checkout 5xx above 5%"
    inc = await http.detail(client, alices)
    assert inc["status"] == "resolved" and inc["resolved_by"] == "alice"
    assert inc["timeline"][-1]["details"] == {"via": "sms"}


@pytest.mark.parametrize(
    "how",
    [
        {"signature": ""},  # no header at all
        {"signature": "bm90IGEgc2lnbmF0dXJl"},
        {"auth_token": "0" * 32},  # signed with someone else's auth token
        {"sign_url": "http://127.0.0.1:8080/v1/twilio/sms"},  # not the URL Twilio was configured with
        {"sign_url": f"{PUBLIC_URL}/v1/twilio/status"},
    ],
)
async def test_unsigned_or_forged_is_403_and_changes_nothing(client, alices, how):
    before = await http.detail(client, alices)
    resp = await sms(client, ALICE, f"ack {alices}", **how)
    assert resp.status == 403
    after = await http.detail(client, alices)
    assert after["status"] == "triggered" and after["timeline"] == before["timeline"]


async def test_a_signature_over_other_params_is_403(client, alices):
    params = inbound(ALICE, f"ack {alices}")
    signature = twilio_double.TwilioDouble().sign(WEBHOOK, {**params, "Body": "hello"})
    resp = await client.post("/v1/twilio/sms", data=params, headers={"X-Twilio-Signature": signature})
    assert resp.status == 403
    assert (await http.detail(client, alices))["status"] == "triggered"


async def test_sms_not_configured_is_403(make_client, pool):
    client = await make_client(support.settings(f'server: {{public_url: "{PUBLIC_URL}"}}'))
    incident_id = await http.open_incident(client)
    await http.paged(pool, incident_id, "alice", ALICE)
    resp = await sms(client, ALICE, f"ack {incident_id}")
    assert resp.status == 403
    assert (await http.detail(client, incident_id))["status"] == "triggered"


async def test_unknown_number_changes_nothing(client, alices):
    before = await http.detail(client, alices)
    text = await reply_text(await sms(client, STRANGER, f"ack {alices}"))
    assert "not registered" in text
    after = await http.detail(client, alices)
    assert after["status"] == "triggered" and after["timeline"] == before["timeline"]


async def test_reply_for_an_incident_not_paged_to_that_user_changes_nothing(client, alices):
    before = await http.detail(client, alices)
    for body in (f"ack {alices}", f"res {alices}"):
        text = await reply_text(await sms(client, BOB, body))
        assert text == f"#{alices} was not paged to you; nothing changed."
    after = await http.detail(client, alices)
    assert after["status"] == "triggered" and after["timeline"] == before["timeline"]


async def test_reply_for_an_incident_that_does_not_exist(client, alices):
    text = await reply_text(await sms(client, ALICE, f"ack {alices + 1000}"))
    assert text == f"#{alices + 1000} was not paged to you; nothing changed."


@pytest.mark.parametrize("body", ["", "hello?", "ack", "snooze 12", "ack twelve"])
async def test_garbage_gets_help(client, alices, body):
    before = await http.detail(client, alices)
    text = await reply_text(await sms(client, ALICE, body))
    assert text == "Reply 'ack 1234' or 'res 1234' with the incident number from the page."
    assert (await http.detail(client, alices))["timeline"] == before["timeline"]


async def test_already_resolved(client, alices):
    await reply_text(await sms(client, ALICE, f"res {alices}"))
    before = await http.detail(client, alices)
    for body in (f"ack {alices}", f"res {alices}"):
        text = await reply_text(await sms(client, ALICE, body))
        assert text.startswith(f"#{alices} is already resolved")
    assert (await http.detail(client, alices))["timeline"] == before["timeline"]


async def test_already_acknowledged_by_someone_else(client, pool, alices):
    await http.paged(pool, alices, "bob", BOB)
    await reply_text(await sms(client, ALICE, f"ack {alices}"))
    text = await reply_text(await sms(client, BOB, f"ack {alices}"))
    assert text == f"#{alices} is already acknowledged by Alice. Reply 'res {alices}' to resolve it."
    assert (await http.detail(client, alices))["acknowledged_by"] == "alice"


async def test_summary_is_shortened_and_xml_escaped(client, pool):
    incident_id = await http.open_incident(client, summary="<oops> & " + "x" * 200)
    await http.paged(pool, incident_id, "alice", ALICE)
    resp = await sms(client, ALICE, f"ack {incident_id}")
    assert "&lt;oops&gt; &amp;" in await resp.text()
    text = await reply_text(resp)
    assert text.startswith(f"Acknowledged #{incident_id}: <oops> & xxx") and text.endswith("...")
    assert len(text) < 160


async def test_signed_end_to_end_by_the_twilio_double(aiohttp_server, aiohttp_client, database_url, pool):
    """With public_url this server's own, the double signs exactly the URL it posts to, as Twilio does."""
    port = test_utils.unused_port()
    settings = support.settings(
        f'server: {{public_url: "http://127.0.0.1:{port}"}}\n'
        'notifiers: {sms: {from: "+15005550006", api_base: "http://127.0.0.1:9"}}',
        SMS_ENV,
    )
    server = await aiohttp_server(daemon.create_app(settings, database_url=database_url, run_engine=False), port=port)
    client = await aiohttp_client(server)
    incident_id = await http.open_incident(client)
    await http.paged(pool, incident_id, "alice", ALICE)

    answer = await twilio_double.TwilioDouble().post_inbound_sms(
        f"http://127.0.0.1:{port}/v1/twilio/sms", from_=ALICE, body=f"ack {incident_id}"
    )

    assert answer.status == 200 and f"<Message>Acknowledged #{incident_id}: disk full on db-1</Message>" in answer.text
    assert (await http.detail(client, incident_id))["status"] == "acknowledged"
