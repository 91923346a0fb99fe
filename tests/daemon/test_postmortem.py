"""The post-mortem of a real incident run through the daemon (fake clock): alert in, SMS out, ack, resolve.

The draft has the sections in order, the timeline rows in time order in UTC and
in the service's zone, MTTA and MTTR to the second, and the alert's hostile
text escaped so GitHub's renderer (cmark-gfm) shows it as text. Saved text
replaces the draft; 48 h after the resolve an unsaved post-mortem reminds the
commander (here the acknowledger) by email and is counted as overdue.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import re

import cmarkgfm
import pytest

from pager import cli, clock, postmortem
from pager.web import keys
from tests import support
from tests.support import http, smtp_double, twilio_double, wait

START = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)
HOSTILE = "5xx | above 5% <img src=x onerror=alert(1)> **now** [docs](http://evil.example) @oncall-team $x$"


def settings(double: twilio_double.TwilioDouble, smtp_port: int, extra: str = ""):
    env = {**support.ENV, "TWILIO_ACCOUNT_SID": double.account_sid, "TWILIO_AUTH_TOKEN": double.auth_token}
    return support.settings(
        f"""
server: {{public_url: "https://pager.example.com"}}
services:
  - {{id: checkout, escalation_policy: web, matchers: ['service="checkout"'], time_zone: Europe/Berlin}}
  - {{id: web, escalation_policy: web}}
notifiers:
  sms: {{from: "+15005550006", api_base: "{double.url}"}}
  email: {{host: 127.0.0.1, port: {smtp_port}, from: pager@example.com}}
  console: {{enabled: false}}
priorities:
  P0: {{channels: [sms], ack_within: 5m, resolve_within: 4h}}
{extra}
""",
        env,
    )


def hostile_alert(status: str) -> bytes:
    body = json.loads(support.am_payload([("fp1", status, {"severity": "critical", "service": "checkout"})]))
    body["alerts"][0]["annotations"]["summary"] = HOSTILE
    return json.dumps(body).encode()


async def run_incident(client, fake) -> int:
    """Alert → SMS to alice → acknowledged 2m13s later → resolved by Alertmanager 47m5s after it opened."""
    assert (await http.post_am(client, hostile_alert("firing"))).status == 200
    [inc] = await wait.eventually(lambda: http.incidents(client))

    async def paged():
        return "paged" in [e["kind"] for e in (await http.detail(client, inc["id"]))["timeline"]]

    await wait.eventually(paged)
    await fake.set(START + datetime.timedelta(minutes=2, seconds=13))
    resp = await client.post(f"/api/v1/incidents/{inc['id']}/acknowledge", json={"user": "alice"}, headers=support.API)
    assert resp.status == 200
    await fake.set(START + datetime.timedelta(minutes=47, seconds=5))
    assert (await http.post_am(client, hostile_alert("resolved"))).status == 200
    return inc["id"]


async def get_postmortem(client, incident_id: int) -> tuple[int, str, str]:
    resp = await client.get(f"/api/v1/incidents/{incident_id}/postmortem", headers=support.API)
    return resp.status, resp.content_type, await resp.text()


def sections(markdown: str) -> list[str]:
    return re.findall(r"^## (.+)$", markdown, re.M)


def timeline_rows(markdown: str) -> list[list[str]]:
    part = markdown.split("## Timeline", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in part.splitlines() if line.startswith("| ")]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows[1:]]  # the header row is first


async def test_the_draft_of_a_real_incident(make_client):
    with smtp_double.smtp_server() as (mailbox, port):
        async with twilio_double.running() as double:
            fake = clock.ManualClock(START)
            client = await make_client(settings(double, port), clock=fake, run_engine=True)
            inc = await run_incident(client, fake)

            status, content_type, text = await get_postmortem(client, inc)
            assert (status, content_type) == (200, "text/markdown")

    assert sections(text) == list(postmortem.SECTIONS)
    assert text.startswith(f"# Post-mortem: #{inc} ")
    assert "- **MTTA (time to acknowledge):** 2m13s (133 s)" in text
    assert "- **MTTR (time to resolve):** 47m5s (2825 s)" in text
    assert "acknowledge within 5m: met; resolve within 4h: met" in text
    assert "Acknowledged by Alice after 2m13s (133 s)." in text
    for section, guidance in postmortem.GUIDANCE.items():
        assert guidance.replace("{id}", str(inc)) in text.split(f"## {section}", 1)[1], section

    rows = timeline_rows(text)
    events = [r[2] for r in rows]  # time (UTC), Europe/Berlin, event, what, who
    # acknowledging made Alice commander
    assert events == ["Detected", "Escalated", "Paged", "Acknowledged", "Role changed", "Alert cleared", "Resolved"]
    assert [r[0] for r in rows] == [
        "2026-11-23 12:00:00",
        "12:00:00",
        "12:00:00",
        "12:02:13",
        "12:02:13",
        "12:47:05",
        "12:47:05",
    ]
    assert [r[1] for r in rows] == [
        "2026-11-23 13:00:00 CET",
        "13:00:00 CET",
        "13:00:00 CET",
        "13:02:13 CET",
        "13:02:13 CET",
        "13:47:05 CET",
        "13:47:05 CET",
    ]
    assert "Europe/Berlin" in text.split("## Timeline", 1)[1].splitlines()[2]

    # GitHub's renderer shows the alert's text as text: no image, no link, no bold, no extra table column
    html = cmarkgfm.github_flavored_markdown_to_html(text)
    assert "<img" not in html and "<a href" not in html and "<strong>now" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "**now** [docs](http://evil.example) @oncall-team $x$" in html.replace("&quot;", '"')
    for table in re.findall(r"<table>.*?</table>", html, re.S):
        widths = {len(re.findall(r"<t[hd]", row)) for row in re.findall(r"<tr>.*?</tr>", table, re.S)}
        assert len(widths) == 1, "a row of a table has the wrong number of cells"


def change(summary: str, at: datetime.datetime, service: str = "checkout") -> dict:
    return {
        "routing_key": support.EVENTS_KEY,
        "payload": {
            "summary": summary,
            "source": "ci",
            "timestamp": at.isoformat(),
            "custom_details": {"service": service},
        },
    }


async def test_the_draft_shows_the_changes_before_and_during_the_incident(make_client):
    minute = datetime.timedelta(minutes=1)
    with smtp_double.smtp_server() as (_, port):
        async with twilio_double.running() as double:
            fake = clock.ManualClock(START)
            client = await make_client(settings(double, port), clock=fake, run_engine=True)
            for body in (
                change("Deploy checkout v40", START - 121 * minute),  # more than 2 h before: not this incident's
                change("Deploy checkout v41", START - 25 * minute),
                change("Deploy web v7", START - 10 * minute, service="web"),  # another service's
                change("Roll back checkout to v40", START + 30 * minute),  # while it was open
                change("Deploy checkout v42", START + 50 * minute),  # after it resolved
            ):
                assert (await client.post("/v2/change/enqueue", json=body)).status == 202
            inc = await run_incident(client, fake)
            _, _, text = await get_postmortem(client, inc)
            incident = await http.detail(client, inc)

    assert [c["summary"] for c in incident["recent_changes"]] == ["Deploy checkout v41"]
    assert "It opened 25m after a change to `checkout`: Deploy checkout v41." in text
    rows = timeline_rows(text)
    assert [r[2] for r in rows] == [
        "Change",
        "Detected",
        "Escalated",
        "Paged",
        "Acknowledged",
        "Role changed",  # issue 12: acknowledging made alice commander
        "Change",
        "Alert cleared",
        "Resolved",
    ]
    changes = [(r[0], r[3], r[4]) for r in rows if r[2] == "Change"]
    assert changes == [
        ("2026-11-23 11:35:00", "Deploy checkout v41 (ci)", "`checkout`"),
        ("12:30:00", "Roll back checkout to v40 (ci)", "`checkout`"),
    ]
    assert "v42" not in text and "Deploy web" not in text and "v40 (ci)" in text and "Deploy checkout v40" not in text


async def test_saved_text_replaces_the_draft_and_the_cli_prints_and_saves_it(make_client, tmp_path, monkeypatch):
    with smtp_double.smtp_server() as (mailbox, port):
        async with twilio_double.running() as double:
            fake = clock.ManualClock(START)
            client = await make_client(settings(double, port), clock=fake, run_engine=True)
            inc = await run_incident(client, fake)
            url = str(client.make_url("")).rstrip("/")
            monkeypatch.setattr(cli.logs, "configure", lambda **_: None)

            def pager(*argv: str) -> int:
                return cli.main([*argv, "--url", url, "--token", support.API_TOKEN])

            out = tmp_path / "pm.md"
            with open(out, "w") as stream:
                monkeypatch.setattr("sys.stdout", stream)
                assert await asyncio.to_thread(pager, "postmortem", str(inc)) == 0
            monkeypatch.undo()
            draft = out.read_text()
            assert draft == (await get_postmortem(client, inc))[2]

            edited = draft.replace(
                postmortem.GUIDANCE["Root cause"], "A connection pool too small for the retry storm."
            )
            out.write_text(edited)
            monkeypatch.setattr(cli.logs, "configure", lambda **_: None)
            assert await asyncio.to_thread(pager, "postmortem", str(inc), "--put", str(out), "--by", "alice") == 0
            assert (await get_postmortem(client, inc))[2] == edited

            bad = await client.put(
                f"/api/v1/incidents/{inc}/postmortem",
                data=b"  ",
                headers={**support.API, "Content-Type": "text/markdown"},
            )
            assert bad.status == 400
            wrong = await client.put(f"/api/v1/incidents/{inc}/postmortem", json={"x": 1}, headers=support.API)
            assert wrong.status == 415
            missing = await client.get("/api/v1/incidents/999999/postmortem", headers=support.API)
            assert missing.status == 404


async def overdue_gauge(client) -> float:
    text = await (await client.get("/metrics")).text()
    return float(re.search(r"^pager_postmortems_overdue (\S+)$", text, re.M).group(1))


@pytest.mark.parametrize("saved_first", [False, True], ids=["unsaved: reminded", "saved: never reminded"])
async def test_an_unsaved_postmortem_is_overdue_48h_after_the_resolve(make_client, saved_first):
    with smtp_double.smtp_server() as (mailbox, port):
        async with twilio_double.running() as double:
            fake = clock.ManualClock(START)
            client = await make_client(settings(double, port), clock=fake, run_engine=True)
            inc = await run_incident(client, fake)
            if saved_first:
                resp = await client.put(
                    f"/api/v1/incidents/{inc}/postmortem",
                    data=b"# Post-mortem\n\nWritten.\n",
                    headers={**support.API, "Content-Type": "text/markdown"},
                )
                assert resp.status == 200
            resolved = START + datetime.timedelta(minutes=47, seconds=5)
            await fake.set(resolved + datetime.timedelta(hours=48) - datetime.timedelta(seconds=1))
            await client.app[keys.ENGINE].tick()
            assert await overdue_gauge(client) == 0

            await fake.set(resolved + datetime.timedelta(hours=48))
            await client.app[keys.ENGINE].tick()
            kinds = [e["kind"] for e in (await http.detail(client, inc))["timeline"]]
            if saved_first:
                assert "postmortem_overdue" not in kinds
                assert await overdue_gauge(client) == 0
                await asyncio.sleep(0.1)
                assert mailbox.received == []
                return

            async def overdue_entries():
                return [e for e in (await http.detail(client, inc))["timeline"] if e["kind"] == "postmortem_overdue"]

            [entry] = await wait.eventually(overdue_entries)  # the engine's own loop may be the one that fired it
            assert entry["message"] == "Post-mortem overdue (due 2026-11-25 12:47 UTC); reminded Alice by email"
            assert await overdue_gauge(client) == 1
            [(sender, rcpt, mail)] = await wait.eventually(lambda: _received(mailbox))
            assert rcpt == ["alice@example.com"]
            assert mail["Subject"].startswith(f"[pager] Post-mortem of #{inc} is overdue")
            assert f"pager postmortem {inc}" in mail.get_content()

            # a day later, still unsaved: reminded again; once saved, the gauge drops and the reminders stop
            await fake.advance(datetime.timedelta(days=1))
            await client.app[keys.ENGINE].tick()
            await wait.eventually(lambda: _received(mailbox, 2))
            await client.put(
                f"/api/v1/incidents/{inc}/postmortem",
                data=b"done\n",
                headers={**support.API, "Content-Type": "text/markdown"},
            )
            assert await overdue_gauge(client) == 0
            await fake.advance(datetime.timedelta(days=3))
            await client.app[keys.ENGINE].tick()
            await asyncio.sleep(0.1)
            assert len(mailbox.received) == 2


async def _received(mailbox, n: int = 1):
    return mailbox.received if len(mailbox.received) >= n else None
