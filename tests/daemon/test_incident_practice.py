"""Running an incident through the real daemon: roles, status updates, reminders, stakeholders, the stable all-clear.

Alerts come in by the Alertmanager webhook, pages go to a Twilio-compatible server, replies
come back signed as Twilio signs them, stakeholder mail lands at a real SMTP server
(aiosmtpd), and a fake clock moves time: half an hour passes in milliseconds.
"""

from __future__ import annotations

import asyncio
import datetime
import re
import urllib.parse

import pytest

from pager import clock
from pager.web import keys
from tests import support
from tests.support import http, replies, smtp_double, twilio_double, wait

START = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)
MIN = datetime.timedelta(minutes=1)
PUBLIC = "https://pager.example.com"
ALICE, BOB = "+15551230001", "+15551230002"


def practice_settings(double: twilio_double.TwilioDouble, smtp_port: int, extra: str = ""):
    env = {**support.ENV, "TWILIO_ACCOUNT_SID": double.account_sid, "TWILIO_AUTH_TOKEN": double.auth_token}
    return support.settings(
        f"""
server: {{public_url: "{PUBLIC}"}}
notifiers:
  sms: {{from: "+15005550006", api_base: "{double.url}"}}
  email: {{host: 127.0.0.1, port: {smtp_port}, from: pager@example.com}}
  console: {{enabled: false}}
priorities:
  P0: {{channels: [sms], ack_within: 5m, resolve_within: 4h, update_every: 30m, stable_for: 15m}}
  P1: {{channels: [sms], update_every: 60m}}
stakeholders:
  - {{id: leadership, emails: [cto@example.com, vp@example.com], priorities: [P0, P1], services: [web]}}
  - {{id: search-team, emails: [search@example.com], services: [search]}}
status_page: {{title: Example status, services: [web, checkout]}}
{extra}
""",
        env,
    )


FIRING = support.am_payload([("fp1", "firing", {"severity": "critical", "host": "db-7.internal"})])
RESOLVED = support.am_payload([("fp1", "resolved", {"severity": "critical", "host": "db-7.internal"})])


@pytest.fixture
def smtp():
    with smtp_double.smtp_server() as (mailbox, port):
        yield mailbox, port


@pytest.fixture
async def twilio():
    async with twilio_double.running() as double:
        yield double


async def kinds(client, incident_id: int) -> list[str]:
    return [e["kind"] for e in (await http.detail(client, incident_id))["timeline"]]


def subjects(mailbox: smtp_double.Mailbox) -> list[str]:
    return [mail["Subject"] for _, _, mail in mailbox.received]


async def test_one_incident_run_from_page_to_a_stable_all_clear(make_client, twilio, smtp):
    mailbox, port = smtp
    fake = clock.ManualClock(START)
    client = await make_client(practice_settings(twilio, port), clock=fake, run_engine=True)
    assert (await http.post_am(client, FIRING)).status == 200
    [page] = await wait.eventually(lambda: twilio.messages)
    assert page.to == ALICE
    [inc] = await http.incidents(client)
    n = inc["id"]
    assert inc["next_update_due"] is None or inc["next_update_due"] == "2026-11-23T12:30:00Z"
    await wait.eventually(lambda: subjects(mailbox))
    assert subjects(mailbox) == [f"[P0] Declared: incident #{n} on web - summary of fp1"]

    await fake.set(START + 2 * MIN)
    assert (await replies.sms(twilio, client, PUBLIC, ALICE, f"ack {n}")).startswith(f"Acknowledged #{n}")
    resp = await client.post(f"/api/v1/incidents/{n}/roles", json={"comms": "bob", "by": "alice"}, headers=support.API)
    assert resp.status == 200
    assert (await resp.json())["roles"] == {"commander": "alice", "comms": "bob", "tech_lead": None, "scribe": None}

    await fake.set(START + 4 * MIN)
    answer = await replies.sms(twilio, client, PUBLIC, ALICE, f"update {n} Checkout errors at 30%, rolling back")
    assert answer == f"Update posted on #{n}. Next update due by 12:34 UTC."
    await wait.eventually(lambda: len(mailbox.received) == 2)

    # 30 minutes without an update: the commander is reminded by SMS with a link to the update page
    await fake.set(START + 34 * MIN)
    reminder = (await wait.eventually(lambda: twilio.messages[1:]))[0]
    assert reminder.to == ALICE and "status update overdue" in reminder.body
    link = re.search(r"https://\S+/u/\S+", reminder.body).group(0)
    assert "/a/" not in reminder.body and len(reminder.body) <= 160

    # monitoring clears the alert: stabilizing, nobody paged; fifteen quiet minutes resolve it
    await fake.set(START + 40 * MIN)
    assert (await http.post_am(client, RESOLVED)).status == 200
    inc = await http.detail(client, n)
    assert (inc["status"], inc["recovered_at"], inc["stable_until"]) == (
        "stabilizing",
        "2026-11-23T12:40:00Z",
        "2026-11-23T12:55:00Z",
    )
    assert [i["id"] for i in await http.incidents(client, status="open")] == [n]
    await fake.set(START + 55 * MIN)

    async def resolved():
        return (await http.detail(client, n))["status"] == "resolved"

    await wait.eventually(resolved)
    assert (await http.detail(client, n))["next_update_due"] is None  # nothing is due of a resolved incident

    async def told_thrice():
        return (await kinds(client, n)).count("stakeholders_notified") == 3

    await wait.eventually(told_thrice)  # declared, the update, the all clear: each sent and recorded
    story = await kinds(client, n)
    for kind in ("role_changed", "status_update", "update_overdue", "stabilizing", "resolved"):
        assert kind in story
    assert story.index("acknowledged") < story.index("update_overdue") < story.index("stabilizing")
    assert story[-1] in ("resolved", "stakeholders_notified")
    assert subjects(mailbox)[1:] == [
        f"[P0] Update: incident #{n} on web - Checkout errors at 30%, rolling back",
        f"[P0] All clear: incident #{n} on web resolved",
    ]
    for _, rcpt, mail in mailbox.received:
        assert rcpt == ["cto@example.com", "vp@example.com"]
        assert "/a/" not in mail.get_content() and mail["Auto-Submitted"] == "auto-generated"
    assert len(twilio.messages) == 2  # the page and one reminder: stakeholders are never texted

    scrape = await (await client.get("/metrics")).text()
    assert 'pager_status_updates_overdue_total{priority="P0",service="web"} 1.0' in scrape
    assert 'pager_mttr_seconds{priority="P0",service="web",window="1d"} 2400.0' in scrape  # to 12:40
    assert 'pager_stakeholder_mail_total{outcome="sent"} 3.0' in scrape
    assert "pager_notifications_total" in scrape and 'channel="email"' not in scrape
    update_page = await client.get(urllib.parse.urlsplit(link).path)
    assert update_page.status == 200 and "This incident is resolved." in await update_page.text()


async def test_reminders_at_30_and_again_at_60_minutes_then_an_update_stops_them(make_client, twilio, smtp):
    _, port = smtp
    fake = clock.ManualClock(START)
    client = await make_client(practice_settings(twilio, port), clock=fake, run_engine=True)
    await http.post_am(client, FIRING)
    await wait.eventually(lambda: twilio.messages)
    [inc] = await http.incidents(client)
    n = inc["id"]
    assert (await http.detail(client, n))["next_update_due"] == "2026-11-23T12:30:00Z"
    await fake.set(START + MIN)
    await client.post(f"/api/v1/incidents/{n}/acknowledge", json={"user": "bob"}, headers=support.API)

    await fake.set(START + 29 * MIN)
    await asyncio.sleep(0.05)
    assert len(twilio.messages) == 1
    await fake.set(START + 30 * MIN)
    await wait.eventually(lambda: len(twilio.messages) == 2)
    assert twilio.messages[1].to == BOB  # who acknowledged, and so commands
    await fake.set(START + 59 * MIN)
    await asyncio.sleep(0.05)
    assert len(twilio.messages) == 2
    await fake.set(START + 60 * MIN)
    await wait.eventually(lambda: len(twilio.messages) == 3)
    assert "status update overdue" in twilio.messages[2].body

    # the reminder's link opens the update page: GET shows a form, POST posts as the person reminded
    path = urllib.parse.urlsplit(re.search(r"https://\S+/u/\S+", twilio.messages[2].body).group(0)).path
    form = await client.get(path)
    assert form.status == 200 and 'name="status"' in await form.text()
    assert (
        await http.detail(client, n)
        and (await (await client.get(f"/api/v1/incidents/{n}/updates", headers=support.API)).json())["updates"] == []
    )
    posted = await client.post(path, data={"status": "Failover done", "next_update_in": "45m"}, allow_redirects=False)
    assert posted.status == 303
    [update] = (await (await client.get(f"/api/v1/incidents/{n}/updates", headers=support.API)).json())["updates"]
    assert (update["by"], update["status"], update["next_update_at"]) == (
        "bob",
        "Failover done",
        "2026-11-23T13:45:00Z",
    )
    await fake.set(START + 90 * MIN)
    await asyncio.sleep(0.1)
    assert len(twilio.messages) == 3
    overdue = [e for e in (await http.detail(client, n))["timeline"] if e["kind"] == "update_overdue"]
    assert [e["at"] for e in overdue] == ["2026-11-23T12:30:00Z", "2026-11-23T13:00:00Z"]
    scrape = await (await client.get("/metrics")).text()
    assert 'pager_status_updates_overdue_total{priority="P0",service="web"} 2.0' in scrape


async def test_an_alert_firing_again_inside_the_window_reopens_the_same_incident(make_client, twilio, smtp):
    _, port = smtp
    fake = clock.ManualClock(START)
    client = await make_client(practice_settings(twilio, port), clock=fake, run_engine=True)
    await http.post_am(client, FIRING)
    await wait.eventually(lambda: twilio.messages)
    [inc] = await http.incidents(client)
    n = inc["id"]
    await fake.set(START + MIN)
    await client.post(f"/api/v1/incidents/{n}/acknowledge", json={"user": "alice"}, headers=support.API)
    await fake.set(START + 10 * MIN)
    await http.post_am(client, RESOLVED)
    assert (await http.detail(client, n))["status"] == "stabilizing"
    await fake.set(START + 20 * MIN)
    assert len(twilio.messages) == 1  # stabilizing pages nobody

    await fake.set(START + 24 * MIN)  # inside the window (until 12:25)
    body = (await (await http.post_am(client, FIRING)).json())["incidents"][0]
    assert (body["id"], body["status"]) == (n, "triggered")
    await wait.eventually(lambda: len(twilio.messages) == 2)  # escalation from step 1 again
    assert twilio.messages[1].to == ALICE
    inc = await http.detail(client, n)
    assert (inc["status"], inc["number"], inc["recovered_at"], inc["stable_until"]) == ("triggered", n, None, None)
    assert "relapsed" in await kinds(client, n)
    [open_] = await http.incidents(client)
    assert open_["id"] == n  # no second incident

    # nobody acknowledges: step 2 follows its timer, as on the first walk
    await fake.set(START + 29 * MIN)
    await wait.eventually(lambda: len(twilio.messages) == 3)
    assert twilio.messages[2].to == "+15551230003"


async def test_a_person_resolving_skips_the_window(make_client, twilio, smtp):
    mailbox, port = smtp
    fake = clock.ManualClock(START)
    client = await make_client(practice_settings(twilio, port), clock=fake, run_engine=True)
    await http.post_am(client, FIRING)
    await wait.eventually(lambda: twilio.messages)
    [inc] = await http.incidents(client)
    n = inc["id"]
    await fake.set(START + 10 * MIN)
    await http.post_am(client, RESOLVED)
    await fake.set(START + 12 * MIN)
    resp = await client.post(f"/api/v1/incidents/{n}/resolve", json={"user": "bob"}, headers=support.API)
    inc = await resp.json()
    assert (inc["status"], inc["resolved_at"], inc["recovered_at"]) == (
        "resolved",
        "2026-11-23T12:12:00Z",
        "2026-11-23T12:10:00Z",
    )
    await wait.eventually(lambda: [s for s in subjects(mailbox) if "All clear" in s])
    await fake.set(START + 30 * MIN)
    await asyncio.sleep(0.1)
    assert (await http.detail(client, n))["status"] == "resolved"
    assert (await kinds(client, n)).count("resolved") == 1
    scrape = await (await client.get("/metrics")).text()
    assert 'pager_mttr_seconds{priority="P0",service="web",window="1d"} 600.0' in scrape  # to the recovery


async def test_breaches_are_counted_once_each(make_client, twilio, smtp):
    _, port = smtp
    fake = clock.ManualClock(START)
    client = await make_client(practice_settings(twilio, port), clock=fake, run_engine=True)
    await http.post_am(client, FIRING)
    await wait.eventually(lambda: twilio.messages)
    [inc] = await http.incidents(client)
    await fake.set(START + 6 * MIN)

    async def breached():
        return (await http.detail(client, inc["id"]))["targets"]["ack_breached"]

    await wait.eventually(breached)
    await fake.set(START + 5 * 60 * MIN)

    async def both():
        return [e for e in (await http.detail(client, inc["id"]))["timeline"] if e["kind"] == "target_breached"][1:]

    await wait.eventually(both)
    scrape = await (await client.get("/metrics")).text()
    assert 'pager_response_target_breaches_total{priority="P0",service="web",target="ack"} 1.0' in scrape
    assert 'pager_response_target_breaches_total{priority="P0",service="web",target="resolve"} 1.0' in scrape


async def test_own_and_update_by_sms_signed_as_twilio_signs(make_client, twilio, smtp):
    mailbox, port = smtp
    fake = clock.ManualClock(START)
    client = await make_client(practice_settings(twilio, port), clock=fake, run_engine=True)
    await http.post_am(client, FIRING)
    await wait.eventually(lambda: twilio.messages)
    [inc] = await http.incidents(client)
    n = inc["id"]

    answer = await replies.sms(twilio, client, PUBLIC, BOB, f"OWN #{n}")
    assert answer.startswith(f"You are commander of #{n}")
    assert (await http.detail(client, n))["roles"]["commander"] == "bob"
    assert await replies.sms(twilio, client, PUBLIC, BOB, f"own {n}") == f"You are already commander of #{n}."
    answer = await replies.sms(twilio, client, PUBLIC, BOB, f"update {n}: DB failover started")
    assert answer == f"Update posted on #{n}. Next update due by 12:30 UTC."
    assert (
        await replies.sms(twilio, client, PUBLIC, BOB, f"update {n}")
        == f"Say where things stand: 'update {n} <status>'."
    )
    assert (await replies.sms(twilio, client, PUBLIC, BOB, "own 99999")).startswith("No incident #99999")

    inc = await http.detail(client, n)
    took, posted = [e for e in inc["timeline"] if e["kind"] in ("role_changed", "status_update")]
    assert (took["actor"], took["message"], took["details"]["via"]) == ("bob", "Bob took command via sms", "sms")
    assert (posted["actor"], posted["details"]["status"], posted["details"]["via"]) == (
        "bob",
        "DB failover started",
        "sms",
    )
    # acknowledging does not take command from bob
    await client.post(f"/api/v1/incidents/{n}/acknowledge", json={"user": "alice"}, headers=support.API)
    assert (await http.detail(client, n))["roles"]["commander"] == "bob"
    await wait.eventually(lambda: [s for s in subjects(mailbox) if "DB failover started" in s])

    # a reply that is not signed by Twilio changes nothing
    params = {"From": BOB, "Body": f"own {n}", "To": "+15005550006", "MessageSid": "SM1"}
    forged = await twilio.post_signed(str(client.make_url("/v1/twilio/sms")), params, signature="bogus")
    assert forged.status == 403


async def test_the_status_page_shows_updates_and_never_alert_text(make_client, twilio, smtp):
    _, port = smtp
    fake = clock.ManualClock(START)
    client = await make_client(practice_settings(twilio, port), clock=fake, run_engine=True)
    await http.post_am(client, FIRING)  # P0 on web
    await http.open_incident(client, "secret search reindex", service="search", priority="P0")  # not on the page
    await wait.eventually(lambda: twilio.messages)
    [_, inc] = await http.incidents(client)
    n = inc["id"]
    page = await (await client.get("/status.json")).json()
    assert page == {
        "title": "Example status",
        "services": [
            {
                "id": "web",
                "status": "outage",
                "incidents": [
                    {
                        "number": n,
                        "priority": "P0",
                        "status": "triggered",
                        "started_at": "2026-11-23T12:00:00Z",
                        "updates": [],
                    }
                ],
            },
            {"id": "checkout", "status": "operational", "incidents": []},
        ],
    }
    await fake.set(START + 5 * MIN)
    resp = await client.post(
        f"/api/v1/incidents/{n}/updates",
        json={"status": "Checkout is slow for some customers", "doing": "Adding capacity", "by": "alice"},
        headers=support.API,
    )
    assert resp.status == 201
    html = await (await client.get("/status")).text()
    assert "Checkout is slow for some customers" in html and "Adding capacity" in html and "Outage" in html
    text = html + str(await (await client.get("/status.json")).json())
    for internal in ("summary of fp1", "db-7.internal", "HighErrorRate", "secret search reindex", "severity"):
        assert internal not in text
    assert "<script" not in html


async def test_api_bad_input_names_the_field(make_client, twilio, smtp):
    _, port = smtp
    client = await make_client(practice_settings(twilio, port), clock=clock.ManualClock(START))
    n = await http.open_incident(client)

    async def post(path: str, body: dict) -> tuple[int, str]:
        resp = await client.post(f"/api/v1/incidents/{n}/{path}", json=body, headers=support.API)
        return resp.status, (await resp.json()).get("error", "")

    assert await post("roles", {"commander": "zed"}) == (400, "'commander': unknown user 'zed'")
    assert await post("roles", {"commander": "alice", "by": "zed"}) == (400, "'by': unknown user 'zed'")
    assert (await post("roles", {"captain": "alice"}))[0] == 400
    assert await post("updates", {"known": "x"}) == (400, "'status' is required: say where things stand")
    assert await post("updates", {"status": "  "}) == (400, "'status' must not be empty: say where things stand")
    status, error = await post("updates", {"status": "ok", "next_update_in": "soon"})
    assert status == 400 and error.startswith("'next_update_in': expected a positive duration")
    assert (await post("updates", {"status": "ok", "by": "alice"}))[0] == 201
    assert (await post("roles", {"commander": "alice", "scribe": "carol"}))[0] == 200
    assert (await post("roles", {"commander": None, "by": "bob"}))[0] == 200
    roles = (await http.detail(client, n))["roles"]
    assert roles == {"commander": None, "comms": None, "tech_lead": None, "scribe": "carol"}
    await client.post(f"/api/v1/incidents/{n}/resolve", headers=support.API)
    assert (await post("updates", {"status": "late"}))[0] == 409
    missing = await client.post("/api/v1/incidents/999/updates", json={"status": "x"}, headers=support.API)
    assert missing.status == 404
    [_, roles_line, cleared] = [e for e in (await http.detail(client, n))["timeline"] if e["kind"] == "role_changed"]
    assert cleared["message"] == "Commander cleared (was Alice) by Bob via api" and cleared["actor"] == "bob"
    assert roles_line["message"] == "Carol is scribe (set via api)"


async def test_a_note_carries_its_hypothesis_and_result(make_client):
    client = await make_client()
    n = await http.open_incident(client)
    body = {
        "text": "restarted db-1",
        "hypothesis": "a stuck connection pool",
        "result": "errors fell to 0.1%",
        "user": "bob",
    }
    resp = await client.post(f"/api/v1/incidents/{n}/notes", json=body, headers=support.API)
    assert resp.status == 201
    note = (await http.detail(client, n))["timeline"][-1]
    assert note["details"] == {
        "hypothesis": "a stuck connection pool",
        "result": "errors fell to 0.1%",
        "token": "PAGER_API_TOKEN",  # every API write says which token made it
    }
    assert note["message"] == "restarted db-1\nHypothesis: a stuck connection pool\nResult: errors fell to 0.1%"


BLAST = """
classification:
  - {matchers: ['severity="warning"'], min_firing: 3, priority: P1}
  - {matchers: ['severity="warning"'], priority: P2}
  - {priority: P3}
"""


def warnings(*fingerprints: str, status: str = "firing", group: str = "g1") -> bytes:
    return support.am_payload([(fp, status, {"severity": "warning"}) for fp in fingerprints], group_key=group)


async def test_a_spreading_group_raises_its_priority_once_enough_alerts_fire(make_client):
    client = await make_client(
        support.settings(BLAST + "stakeholders: [{id: leadership, emails: [cto@example.com], priorities: [P0, P1]}]")
    )
    engine = client.app[keys.ENGINE]
    body = await (await http.post_am(client, warnings("a", "b"))).json()
    n = body["incidents"][0]["id"]
    assert (await http.detail(client, n))["priority"] == "P2"  # one alert alone never matches a blast rule
    await engine.tick()
    await http.post_am(client, warnings("a", "b", "c"))
    await engine.tick()  # the raise armed a reassessment: stakeholders of P1 hear of it now
    [(event, subject)] = await client.app[keys.STORE].pool.fetch("SELECT event, subject FROM stakeholder_mail")
    assert (event, subject) == ("declared", f"[P1] Now P1: incident #{n} on web - summary of a")
    inc = await http.detail(client, n)
    assert (inc["priority"], inc["priority_rule"]) == ("P1", "classification[0]")
    [raised] = [e for e in inc["timeline"] if e["kind"] == "priority_raised"]
    assert raised["message"] == "Priority raised from P2 to P1: 3 firing alerts match classification[0] (min_firing)"
    assert raised["details"] == {"from": "P2", "to": "P1", "rule": "classification[0]", "firing": 3}
    await http.post_am(client, warnings("c", status="resolved"))
    assert (await http.detail(client, n))["priority"] == "P1"  # priority only rises

    # a group that opens already spread is ranked by its blast radius at once
    body = await (await http.post_am(client, warnings("x", "y", "z", group="g2"))).json()
    wide = await http.detail(client, body["incidents"][0]["id"])
    assert wide["priority"] == "P1"
    assert [e["kind"] for e in wide["timeline"]] == ["triggered", "priority_raised"]


async def test_an_events_v2_resolve_stabilizes_and_a_trigger_inside_the_window_relapses(make_client):
    fake = clock.ManualClock(START)
    client = await make_client(support.settings("priorities: {P0: {channels: [console], stable_for: 10m}}"), clock=fake)
    engine = client.app[keys.ENGINE]
    assert (await http.enqueue(client, support.event("trigger", "disk-1"))).status == 202
    await engine.tick()  # the engine's first look keeps stable_for on the incident
    [inc] = await http.incidents(client)
    await fake.set(START + 3 * MIN)
    await http.enqueue(client, support.event("resolve", "disk-1"))
    assert (await http.detail(client, inc["id"]))["status"] == "stabilizing"
    await fake.set(START + 12 * MIN)
    await http.enqueue(client, support.event("trigger", "disk-1"))
    again = await http.detail(client, inc["id"])
    assert again["status"] == "triggered" and again["escalation"]["next_at"] is None  # the engine restarts it
    await engine.tick()
    again = await http.detail(client, inc["id"])
    assert (again["escalation"]["step"], again["escalation"]["round"]) == (0, 1)
    await http.enqueue(client, support.event("resolve", "disk-1"))
    await fake.set(START + 30 * MIN)
    await engine.tick()
    done = await http.detail(client, inc["id"])
    assert (done["status"], done["resolved_at"], done["recovered_at"]) == (
        "resolved",
        "2026-11-23T12:22:00Z",
        "2026-11-23T12:12:00Z",
    )
    assert [e["kind"] for e in done["timeline"] if e["kind"] in ("stabilizing", "relapsed", "resolved")] == [
        "stabilizing",
        "relapsed",
        "stabilizing",
        "resolved",
    ]


async def test_a_drill_is_never_on_the_status_page_nor_told_to_stakeholders(make_client, twilio, smtp):
    mailbox, port = smtp
    fake = clock.ManualClock(START)
    client = await make_client(practice_settings(twilio, port), clock=fake)
    resp = await client.post(
        "/api/v1/drills", json={"service": "web", "priority": "P0", "summary": "practice"}, headers=support.API
    )
    assert resp.status == 201
    n = (await resp.json())["id"]
    await client.app[keys.ENGINE].tick()
    update = {"status": "drill: failing over", "by": "alice"}
    assert (await client.post(f"/api/v1/incidents/{n}/updates", json=update, headers=support.API)).status == 201
    await client.app[keys.STAKEHOLDER_MAIL].drain()
    assert mailbox.received == []
    page = await (await client.get("/status.json")).json()
    assert page["services"][0] == {"id": "web", "status": "operational", "incidents": []}
