"""Drills through the real daemon: the real chain, [DRILL] in every message, out of MTTA/MTTR, a report of what failed.

The chain of `payments` has a first step whose rotation has nobody on call: the
drill must skip it loudly, page carol at step 2 by SMS (Twilio double) and email
(a real SMTP server), and say so in its report. Nobody outside the chain is paged.
"""

from __future__ import annotations

import asyncio
import datetime
import re

from pager import cli, clock
from pager.web import keys
from tests import support
from tests.support import http, smtp_double, twilio_double, wait

START = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)


def settings(double: twilio_double.TwilioDouble, smtp_port: int):
    env = {**support.ENV, "TWILIO_ACCOUNT_SID": double.account_sid, "TWILIO_AUTH_TOKEN": double.auth_token}
    return support.settings(
        f"""
server: {{public_url: "https://pager.example.com"}}
rotations:
  - {{id: primary, shift: 1w, handoff: "2026-01-05T09:00", members: [alice, bob]}}
  - {{id: payments-primary, shift: 1w, handoff: "2026-01-05T09:00", members: []}}
escalation_policies:
  - id: web
    steps:
      - {{targets: ["rotation:primary"], ack_timeout: 5m}}
  - id: payments
    steps:
      - {{targets: ["rotation:payments-primary"], ack_timeout: 5m}}
      - {{targets: ["user:carol"], ack_timeout: 10m}}
services:
  - {{id: payments, escalation_policy: payments}}
  - {{id: web, escalation_policy: web}}
notifiers:
  sms: {{from: "+15005550006", api_base: "{double.url}"}}
  email: {{host: 127.0.0.1, port: {smtp_port}, from: pager@example.com}}
  console: {{enabled: false}}
priorities:
  P1: {{channels: [sms, email], ack_within: 1m}}
""",
        env,
    )


def sample(m, name: str, labels: dict[str, str]) -> float:
    return m.registry.get_sample_value(name, labels) or 0.0


async def test_a_drill_with_a_step_that_has_nobody_on_call(make_client, tmp_path, monkeypatch):
    with smtp_double.smtp_server() as (mailbox, port):
        async with twilio_double.running() as double:
            fake = clock.ManualClock(START)
            client = await make_client(settings(double, port), clock=fake, run_engine=True)
            resp = await client.post(
                "/api/v1/drills", json={"service": "payments", "priority": "P1", "by": "alice"}, headers=support.API
            )
            assert resp.status == 201, await resp.text()
            inc = await resp.json()
            assert (inc["drill"], inc["service"], inc["priority"], inc["status"]) == (
                True,
                "payments",
                "P1",
                "triggered",
            )
            assert resp.headers["Location"] == f"/api/v1/drills/{inc['id']}"

            [sms] = await wait.eventually(lambda: _some(double.messages))
            assert sms.to == "+15551230003"  # carol: step 1 had nobody on call
            assert sms.body.startswith(f"[DRILL] [P1] payments: Drill: please acknowledge this page #{inc['id']} ack: ")
            assert len(sms.body) <= 160
            [(_, rcpt, mail)] = await wait.eventually(lambda: _some(mailbox.received))
            assert rcpt == ["carol@example.com"]
            assert mail["Subject"].startswith("[DRILL] [P1] payments:")
            assert mail.get_content().startswith("[DRILL] P1 incident")

            await fake.set(START + datetime.timedelta(seconds=90))
            ack = await client.post(
                f"/api/v1/incidents/{inc['id']}/acknowledge", json={"user": "carol"}, headers=support.API
            )
            assert ack.status == 200

            # the chain's whole walk (5m + 10m) is the drill's length; then it is over and closed
            await fake.set(START + datetime.timedelta(minutes=15))
            report = await wait.eventually(lambda: _ended(client, inc["id"]))

    assert report["outcome"] == "acknowledged"
    assert (report["acknowledged_by"], report["seconds_to_acknowledge"]) == ("carol", 90)
    assert report["ended_at"] == "2026-11-23T12:15:00Z"
    assert sorted((p["user"], p["channel"], p["step"], p["status"]) for p in report["pages"]) == [
        ("carol", "email", 2, "sent"),
        ("carol", "sms", 2, "sent"),
    ]
    assert [(f["kind"], f["what"]) for f in report["failures"]] == [("step_skipped", "step skipped")]
    assert "nobody on call for rotation:payments-primary" in report["failures"][0]["message"]
    assert [s["kind"] for s in report["steps"]] == ["step_skipped", "escalated"]
    assert len(double.messages) == 1 and len(mailbox.received) == 1  # nobody outside the chain, nothing twice

    detail = await http.detail(client, inc["id"])
    assert detail["status"] == "resolved" and detail["resolved_by"] == "pager"
    ended = [e for e in detail["timeline"] if e["kind"] == "drill_ended"]
    assert [e["message"] for e in ended] == ["Drill over: acknowledged by Carol after 1m30s"]
    assert "target_breached" not in [e["kind"] for e in detail["timeline"]]  # no response target for a drill

    m = client.app[keys.METRICS]
    assert sample(m, "pager_drills_total", {"service": "payments", "outcome": "acknowledged"}) == 1
    assert sample(m, "pager_time_to_acknowledge_seconds_count", {"service": "payments", "priority": "P1"}) == 0
    assert (
        sample(m, "pager_response_target_breaches_total", {"service": "payments", "priority": "P1", "target": "ack"})
        == 0
    )
    scrape = await (await client.get("/metrics")).text()
    assert not re.search(r'^pager_(mtta|mttr)_seconds\{[^}]*service="payments"', scrape, re.M)

    url = str(client.make_url("")).rstrip("/")
    monkeypatch.setattr(cli.logs, "configure", lambda **_: None)
    out = tmp_path / "report.txt"
    with open(out, "w") as stream:
        monkeypatch.setattr("sys.stdout", stream)
        code = await asyncio.to_thread(
            cli.main, ["drill", "--report", str(inc["id"]), "--url", url, "--token", support.API_TOKEN]
        )
    monkeypatch.undo()
    text = out.read_text()
    assert code == 0
    assert "outcome   acknowledged: by carol after 1m30s" in text
    assert re.search(r"Carol\s+sms\s+step 2", text)
    assert "step skipped: step 1: nobody on call for rotation:payments-primary; skipped" in text


async def test_a_drill_nobody_answers_is_counted_unacknowledged_and_left_out_of_open_counts(make_client):
    with smtp_double.smtp_server() as (mailbox, port):
        async with twilio_double.running() as double:
            fake = clock.ManualClock(START)
            client = await make_client(settings(double, port), clock=fake, run_engine=True)
            resp = await client.post(
                "/api/v1/drills", json={"service": "payments", "summary": "quarterly drill"}, headers=support.API
            )
            inc = await resp.json()
            await wait.eventually(lambda: _some(double.messages))
            scrape = await (await client.get("/metrics")).text()
            assert 'pager_incidents_open{priority="P1",service="payments"' not in scrape
            await fake.set(START + datetime.timedelta(minutes=15))
            report = await wait.eventually(lambda: _ended(client, inc["id"]))
    assert (report["outcome"], report["seconds_to_acknowledge"]) == ("unacknowledged", None)
    assert (
        sample(client.app[keys.METRICS], "pager_drills_total", {"service": "payments", "outcome": "unacknowledged"})
        == 1
    )


async def test_bad_drills_are_400_and_a_real_incident_is_no_drill(make_client):
    client = await make_client()
    for body, fragment in [
        ({}, "'service' is required"),
        ({"service": "nope"}, "unknown service"),
        ({"service": "web", "priority": "P9"}, "'priority'"),
        ({"service": "web", "by": "mallory"}, "'by': unknown user"),
    ]:
        resp = await client.post("/api/v1/drills", json=body, headers=support.API)
        assert resp.status == 400 and fragment in (await resp.json())["error"], body
    real = await http.open_incident(client)
    assert (await client.get(f"/api/v1/drills/{real}", headers=support.API)).status == 404
    assert (await http.detail(client, real))["drill"] is False


async def _some(items):
    return list(items) or None


async def _ended(client, drill_id: int):
    resp = await client.get(f"/api/v1/drills/{drill_id}", headers=support.API)
    body = await resp.json()
    return body if body["ended_at"] else None
