"""The 3 a.m. path through the real daemon: alert in, SMS out at a Twilio-compatible server, ack by link or reply."""

from __future__ import annotations

import asyncio
import datetime
import re
import urllib.parse

from pager import clock
from pager.web import keys
from tests import support
from tests.support import http, twilio_double, wait

START = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)
PUBLIC = "https://pager.example.com"


def paging_settings(double: twilio_double.TwilioDouble, extra: str = ""):
    env = {**support.ENV, "TWILIO_ACCOUNT_SID": double.account_sid, "TWILIO_AUTH_TOKEN": double.auth_token}
    return support.settings(
        f"""
server: {{public_url: "{PUBLIC}"}}
notifiers:
  sms: {{from: "+15005550006", api_base: "{double.url}"}}
  console: {{enabled: false}}
priorities:
  P0: {{channels: [sms]}}
{extra}
""",
        env,
    )


async def kinds_end_with(kinds, last: str) -> bool:
    return (await kinds())[-1] == last


async def test_alert_to_sms_then_ack_link_stops_escalation(make_client):
    async with twilio_double.running() as double:
        fake = clock.ManualClock(START)
        client = await make_client(paging_settings(double), clock=fake, run_engine=True)
        body = support.am_payload([("fp1", "firing", {"severity": "critical"})])
        assert (await http.post_am(client, body)).status == 200

        [sms] = await wait.eventually(lambda: double.messages)
        assert sms.to == "+15551230001"  # alice is on call in the primary rotation this week
        assert sms.body.startswith("[P0] web: summary of fp1 #1 ack: https://pager.example.com/a/")
        assert len(sms.body) <= 160
        assert sms.status_callback == f"{PUBLIC}/v1/twilio/status"
        link = re.search(r"https://\S+/a/\S+", sms.body).group(0)
        path = urllib.parse.urlsplit(link).path

        page = await client.get(path)
        assert page.status == 200 and "summary of fp1" in await page.text()
        [inc] = await http.incidents(client)

        async def kinds():
            return [e["kind"] for e in (await http.detail(client, inc["id"]))["timeline"]]

        await wait.eventually(lambda: kinds_end_with(kinds, "paged"))  # the sender has recorded its send
        assert inc["status"] == "triggered"  # looking is not acknowledging

        resp = await client.post(path, data={"action": "acknowledge"}, allow_redirects=False)
        assert resp.status == 303
        [inc] = await http.incidents(client)
        assert (inc["status"], inc["acknowledged_by"]) == ("acknowledged", "alice")

        await fake.advance(datetime.timedelta(minutes=20))
        await client.app[keys.ENGINE].tick()
        await client.app[keys.SENDER].drain()
        assert len(double.messages) == 1  # carol (step 2) is never paged for an acknowledged incident
        assert await kinds() == ["triggered", "escalated", "paged", "acknowledged", "role_changed"]


async def test_unacknowledged_incident_pages_the_next_step_after_the_timeout(make_client):
    async with twilio_double.running() as double:
        fake = clock.ManualClock(START)
        client = await make_client(paging_settings(double), clock=fake, run_engine=True)
        await http.post_am(client, support.am_payload([("fp1", "firing", {"severity": "critical"})]))
        await wait.eventually(lambda: len(double.messages) == 1)
        await fake.advance(datetime.timedelta(minutes=4, seconds=59))
        await asyncio.sleep(0.05)
        assert len(double.messages) == 1
        await fake.advance(datetime.timedelta(seconds=1))
        await wait.eventually(lambda: len(double.messages) == 2)
        assert double.messages[1].to == "+15551230003"  # carol, step 2


async def test_sms_reply_acknowledges(make_client):
    async with twilio_double.running() as double:
        fake = clock.ManualClock(START)
        client = await make_client(paging_settings(double), clock=fake, run_engine=True)
        await http.post_am(client, support.am_payload([("fp1", "firing", {"severity": "critical"})]))
        [sms] = await wait.eventually(lambda: double.messages)
        number = re.search(r"reply (\d+)", sms.body).group(1)
        url = str(client.make_url("/v1/twilio/sms"))
        params = {"From": sms.to, "Body": f"ack {number}", "To": "+15005550006", "MessageSid": "SM1"}
        signature = double.sign(f"{PUBLIC}/v1/twilio/sms", params)
        forged = await double.post_signed(url, params, signature="not-" + signature)
        assert forged.status == 403
        answer = await double.post_signed(url, params, signature=signature)
        assert answer.status == 200 and f"Acknowledged #{number}" in answer.text
        [inc] = await http.incidents(client)
        assert (inc["status"], inc["acknowledged_by"]) == ("acknowledged", "alice")
        [acked] = [e for e in (await http.detail(client, inc["id"]))["timeline"] if e["kind"] == "acknowledged"]
        assert (acked["actor"], acked["details"]) == ("alice", {"via": "sms"})


async def test_twilio_down_for_three_attempts_then_up_delivers_once(make_client):
    async with twilio_double.running() as double:
        double.fail_next(3, 503)
        client = await make_client(paging_settings(double), clock=clock.ManualClock(START), run_engine=True)
        await http.post_am(client, support.am_payload([("fp1", "firing", {"severity": "critical"})]))
        await wait.eventually(lambda: double.messages, timeout=30)
        await asyncio.sleep(0.1)
        assert len(double.messages) == 1
        assert [r.answered for r in double.requests] == [503, 503, 503, 201]


async def test_new_alert_on_an_acknowledged_incident_pages_whoever_acknowledged(make_client):
    async with twilio_double.running() as double:
        fake = clock.ManualClock(START)
        client = await make_client(paging_settings(double), clock=fake, run_engine=True)
        await http.post_am(client, support.am_payload([("fp1", "firing", {"severity": "critical"})]))
        await wait.eventually(lambda: len(double.messages) == 1)
        [inc] = await http.incidents(client)
        await client.post(f"/api/v1/incidents/{inc['id']}/acknowledge", json={"user": "bob"}, headers=support.API)
        repeat = support.am_payload([("fp1", "firing", {"severity": "critical"})])
        await http.post_am(client, repeat)  # a repeat is no new symptom
        await http.post_am(
            client,
            support.am_payload(
                [("fp1", "firing", {"severity": "critical"}), ("fp2", "firing", {"severity": "critical"})]
            ),
        )
        [notice] = await wait.eventually(lambda: double.messages[1:])
        assert notice.to == "+15551230002"  # bob, who acknowledged, not alice who was paged
        await asyncio.sleep(0.05)
        assert len(double.messages) == 2

        async def kinds():
            return [e["kind"] for e in (await http.detail(client, inc["id"]))["timeline"]]

        async def paged_twice():
            return (await kinds()).count("paged") == 2

        await wait.eventually(paged_twice)  # the first page to alice and the notice to bob are both recorded
        k = await kinds()
        assert k.index("alert_added") < k.index("acknowledger_notified")
        [inc] = await http.incidents(client)
        assert inc["status"] == "acknowledged"
