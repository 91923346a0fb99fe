"""SMS STOP and START through the real daemon: opted out, pages fall back to other channels, then back on."""

from __future__ import annotations

import datetime
import io

from pager import clock
from pager.notify import console
from pager.web import keys
from tests import support
from tests.support import http, twilio_double, twiml, wait

START = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)
PUBLIC = "https://pager.example.com"
ALICE = "+15551230001"


def optout_settings(double: twilio_double.TwilioDouble):
    env = {**support.ENV, "TWILIO_ACCOUNT_SID": double.account_sid, "TWILIO_AUTH_TOKEN": double.auth_token}
    return support.settings(
        f"""
server: {{public_url: "{PUBLIC}"}}
notifiers:
  sms: {{from: "+15005550006", api_base: "{double.url}"}}
priorities:
  P0: {{channels: [sms]}}
""",
        env,
    )


async def _value(v):
    return v


async def _paged(client, incident_id: int) -> bool:
    return "paged" in [e["kind"] for e in (await http.detail(client, incident_id))["timeline"]]


async def test_stop_opts_the_number_out_and_pages_fall_back_until_start(make_client):
    async with twilio_double.running() as double:
        client = await make_client(optout_settings(double), clock=clock.ManualClock(START), run_engine=True)
        double.route = (PUBLIC, str(client.make_url("")).rstrip("/"))
        printed = io.StringIO()
        client.app[keys.SENDER].notifiers["console"] = console.ConsoleNotifier(printed)
        await http.post_am(client, support.am_payload([("fp1", "firing", {"severity": "critical"})], group_key="a"))
        await wait.eventually(lambda: _paged(client, 1))

        stop = await double.post_inbound_sms(f"{PUBLIC}/v1/twilio/sms", from_=ALICE, body="Stop")
        assert stop.status == 200 and twiml.verbs(stop.text) == []  # nothing may be sent after STOP
        [entry] = [e for e in (await http.detail(client, 1))["timeline"] if e["kind"] == "sms_opted_out"]
        assert entry["message"] == (
            "Alice's number …0001 replied STOP: no SMS to it until it replies START; pages go to Alice's other channels"
        )
        status = await (await client.get("/api/v1/channels", headers=support.API)).json()
        assert [(o["number"], o["users"], o["keyword"]) for o in status["sms_opt_outs"]] == [(ALICE, ["alice"], "STOP")]

        await http.post_am(client, support.am_payload([("fp2", "firing", {"severity": "critical"})], group_key="b"))
        await wait.eventually(lambda: _value("#2" in printed.getvalue()))
        assert len(double.messages) == 1  # Twilio was not asked to text a number that said STOP
        lines = {e["kind"]: e["message"] for e in (await http.detail(client, 2))["timeline"]}
        assert (
            lines["page_failed"]
            == f"Page to Alice by sms failed: {ALICE} replied STOP and gets no SMS until it replies START"
        )
        assert lines["page_fallback"] == "Falling back to console for Alice"

        start = await double.post_inbound_sms(f"{PUBLIC}/v1/twilio/sms", from_=ALICE, body="START")
        assert twiml.said(start.text) == [] and "back on" in start.text
        await http.post_am(client, support.am_payload([("fp3", "firing", {"severity": "critical"})], group_key="c"))
        await wait.eventually(lambda: _value(len(double.messages) == 2))
        assert "#3" in double.messages[1].body
        kinds = [e["kind"] for e in (await http.detail(client, 1))["timeline"]]
        assert kinds[-2:] == ["sms_opted_out", "sms_opted_in"]
        status = await (await client.get("/api/v1/channels", headers=support.API)).json()
        assert status["sms_opt_outs"] == []
