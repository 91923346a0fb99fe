"""Voice pages through the real daemon and a Twilio double that places the call, answers, and presses keys."""

from __future__ import annotations

import datetime
import re

from pager import clock
from tests import support
from tests.support import http, twilio_double, twiml, wait

START = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)
PUBLIC = "https://pager.example.com"


def voice_settings(double: twilio_double.TwilioDouble, channels: str = "[voice]", extra: str = ""):
    env = {**support.ENV, "TWILIO_ACCOUNT_SID": double.account_sid, "TWILIO_AUTH_TOKEN": double.auth_token}
    return support.settings(
        f"""
server: {{public_url: "{PUBLIC}"}}
notifiers:
  sms: {{from: "+15005550006", api_base: "{double.url}"}}
  voice: {{}}
  console: {{enabled: false}}
priorities:
  P0: {{channels: {channels}}}
{extra}
""",
        env,
    )


async def started(make_client, double):
    client = await make_client(voice_settings(double), clock=clock.ManualClock(START), run_engine=True)
    double.route = (PUBLIC, str(client.make_url("")).rstrip("/"))
    await http.post_am(client, support.am_payload([("fp1", "firing", {"severity": "critical"})]))
    [call] = await wait.eventually(lambda: _now(double.calls))
    return client, call


async def _now(value):
    return value


async def kinds(client, incident_id: int = 1) -> list[str]:
    return [e["kind"] for e in (await http.detail(client, incident_id))["timeline"]]


async def test_a_call_reads_the_page_and_pressing_1_acknowledges(make_client):
    async with twilio_double.running() as double:
        client, call = await started(make_client, double)
        assert (call.to, call.from_, call.method) == (
            "+15551230001",
            "+15005550006",
            "POST",
        )  # alice, from sms's number
        assert re.fullmatch(rf"{PUBLIC}/v1/twilio/voice/calls/[A-Za-z0-9_-]{{22}}", call.url)
        assert call.status_callback == f"{PUBLIC}/v1/twilio/voice/status"
        assert not double.messages  # P0 pages by voice only here

        forged = await double.answer(call, signature="bm90IGEgc2lnbmF0dXJl")
        assert forged.status == 403
        answered = await double.answer(call)
        assert answered.status == 200 and answered.headers["Content-Type"].startswith("text/xml")
        menu = twiml.gather(answered.text)
        assert menu is not None and menu.num_digits == "1"
        assert menu.action == call.url + "/gather"
        assert menu.said[0] == "Hello Alice, this is pager. Priority P0 incident 1 on web: summary of fp1."
        assert "Press 1 to acknowledge. Press 2 to resolve. Press 3 to escalate now." in menu.said[-1]

        pressed = await double.press(call, menu.action, "1")
        assert twiml.said(pressed.text) == ["Incident 1 is acknowledged. Thank you. Goodbye."]
        assert twiml.verbs(pressed.text) == ["Say", "Hangup"]
        [inc] = await http.incidents(client)
        assert (inc["status"], inc["acknowledged_by"]) == ("acknowledged", "alice")
        [acked] = [e for e in (await http.detail(client, 1))["timeline"] if e["kind"] == "acknowledged"]
        assert acked["details"] == {"via": "voice"}

        assert (await double.finish(call, "completed")).status == 204
        assert (await kinds(client))[-1] == "page_delivered"


async def test_no_answer_falls_back_to_sms_on_the_timeline(make_client):
    async with twilio_double.running() as double:
        client, call = await started(make_client, double)
        await wait.eventually(lambda: _ends_with(client, "paged"))
        assert (await double.finish(call, "no-answer")).status == 204
        [sms] = await wait.eventually(lambda: _now(double.messages))
        assert sms.to == "+15551230001" and sms.body.startswith("[P0] web: summary of fp1 #1")
        timeline = (await http.detail(client, 1))["timeline"]
        lines = {e["kind"]: e["message"] for e in timeline}
        assert lines["page_undelivered"] == "voice to Alice was not delivered (no answer)"
        assert lines["page_fallback"] == "Falling back to sms for Alice"
        assert len(double.calls) == 1


async def test_pressing_3_escalates_now_and_2_resolves(make_client):
    async with twilio_double.running() as double:
        client, call = await started(make_client, double)
        menu = twiml.gather((await double.answer(call)).text)
        pressed = await double.press(call, menu.action, "3")
        assert twiml.said(pressed.text) == ["Incident 1 is escalated: the next step is being paged now. Goodbye."]
        second = await wait.eventually(lambda: _now(double.calls[1:]))
        assert second[0].to == "+15551230003"  # carol, step 2
        wrong = await double.press(call, menu.action, "7")
        assert twiml.said(wrong.text) == ["Sorry, 7 is not an option."] and twiml.verbs(wrong.text) == [
            "Say",
            "Redirect",
        ]
        resolved = await double.press(call, menu.action, "2")
        assert twiml.said(resolved.text) == ["Incident 1 is resolved. Thank you. Goodbye."]
        [manual] = [e for e in (await http.detail(client, 1))["timeline"] if e["kind"] == "manual_escalation"]
        assert manual["actor"] == "alice"


async def test_a_busy_line_and_a_failed_call_are_each_on_the_timeline(make_client):
    async with twilio_double.running() as double:
        client, call = await started(make_client, double)
        await wait.eventually(lambda: _ends_with(client, "paged"))
        await double.finish(call, "busy")
        await wait.eventually(lambda: _now(double.messages))
        lines = [e["message"] for e in (await http.detail(client, 1))["timeline"] if e["kind"] == "page_undelivered"]
        assert lines == ["voice to Alice was not delivered (busy)"]


async def _ends_with(client, kind: str) -> bool:
    return (await kinds(client))[-1] == kind


async def test_a_hanging_calls_api_never_holds_back_another_person_s_sms(make_client):
    async with twilio_double.running() as double:
        double.stall_next_call(5, seconds=20)
        settings = voice_settings(
            double,
            channels="[voice]",
            extra="""
  P1: {channels: [sms]}
classification:
  - {matchers: ['severity="critical"'], priority: P0}
  - {priority: P1}
""",
        )
        client = await make_client(settings, clock=clock.ManualClock(START), run_engine=True)
        await http.post_am(client, support.am_payload([("fp1", "firing", {"severity": "critical"})], group_key="a"))
        await wait.eventually(lambda: _escalated(client))  # its call is queued, and the Calls API hangs
        await http.post_am(client, support.am_payload([("fp2", "firing", {"severity": "major"})], group_key="b"))
        [sms] = await wait.eventually(lambda: _now(double.messages), timeout=5)
        assert "#2" in sms.body and not double.calls


async def _escalated(client) -> bool:
    return "escalated" in await kinds(client)
