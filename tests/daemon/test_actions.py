"""Action items through the daemon: owned and dated, listed while open, an overdue one reminds its owner by email."""

from __future__ import annotations

import asyncio
import datetime

from pager import clock
from pager.web import keys
from tests import support
from tests.support import http, smtp_double, wait

START = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)


def settings(smtp_port: int):
    return support.settings(
        f"""
users:
  - {{id: alice, name: Alice, email: alice@example.com, time_zone: Europe/Berlin}}
  - {{id: bob, name: Bob, email: bob@example.com, time_zone: America/New_York}}
  - {{id: carol, name: Carol}}
notifiers:
  email: {{host: 127.0.0.1, port: {smtp_port}, from: pager@example.com}}
  console: {{enabled: false}}
postmortems: {{action_remind_every: 7d}}
"""
    )


async def test_an_overdue_action_item_reminds_its_owner_until_it_is_done(make_client, pool):
    with smtp_double.smtp_server() as (mailbox, port):
        fake = clock.ManualClock(START)
        client = await make_client(settings(port), clock=fake, run_engine=True)
        inc = await http.open_incident(client, "checkout timeouts")
        resp = await client.post(
            f"/api/v1/incidents/{inc}/actions",
            json={"title": "Alert on connection pool saturation", "owner": "bob", "due": "2026-11-24", "by": "alice"},
            headers=support.API,
        )
        assert resp.status == 201, await resp.text()
        item = (await resp.json())["action"]
        assert (item["owner"], item["due"], item["status"], item["overdue"]) == ("bob", "2026-11-24", "open", False)
        assert resp.headers["Location"] == f"/api/v1/actions/{item['id']}"
        # the reminder is 09:00 the morning after the due date in bob's zone (New York, UTC-5 in November)
        due = await pool.fetchval(
            "SELECT due_at FROM timers WHERE kind = 'action_due' AND subject = $1", str(item["id"])
        )
        assert due == datetime.datetime(2026, 11, 25, 14, 0, tzinfo=datetime.UTC)

        listed = await client.get("/api/v1/actions", params={"status": "open"}, headers=support.API)
        assert [a["id"] for a in (await listed.json())["actions"]] == [item["id"]]

        await fake.set(due - datetime.timedelta(seconds=1))
        await client.app[keys.ENGINE].tick()
        await asyncio.sleep(0.05)
        assert reminders(mailbox) == []  # (the incident's own page to alice went by email meanwhile)
        await fake.set(due)
        [(_, rcpt, mail)] = await wait.eventually(lambda: _mail(mailbox, 1))
        assert rcpt == ["bob@example.com"]
        # (a folded Subject may read back with the fold's leading space; mail clients drop it)
        assert (
            mail["Subject"].strip()
            == f"[pager] Action item #{item['id']} is overdue: Alert on connection pool saturation"
        )
        assert f"/api/v1/actions/{item['id']}/done" in mail.get_content()
        [entry] = [e for e in (await http.detail(client, inc))["timeline"] if e["kind"] == "action_overdue"]
        assert entry["message"].endswith("reminded Bob by email")
        listed = await client.get("/api/v1/actions", params={"status": "open"}, headers=support.API)
        assert (await listed.json())["actions"][0]["overdue"] is True

        await fake.advance(datetime.timedelta(days=7))  # still open a week later: reminded again
        await wait.eventually(lambda: _mail(mailbox, 2))

        done = await client.post(f"/api/v1/actions/{item['id']}/done", json={"by": "bob"}, headers=support.API)
        assert done.status == 200
        assert ((await done.json())["action"]["status"], (await done.json())["action"]["done_by"]) == ("done", "bob")
        assert await pool.fetchval("SELECT count(*) FROM timers WHERE kind = 'action_due'") == 0
        listed = await client.get("/api/v1/actions", params={"status": "open"}, headers=support.API)
        assert (await listed.json())["actions"] == []
        await fake.advance(datetime.timedelta(days=14))
        await client.app[keys.ENGINE].tick()
        await asyncio.sleep(0.1)
        assert len(reminders(mailbox)) == 2
        again = await client.post(f"/api/v1/actions/{item['id']}/done", headers=support.API)
        assert again.status == 200  # done twice is still done

        draft = await (await client.get(f"/api/v1/incidents/{inc}/postmortem", headers=support.API)).text()
        assert f"| {item['id']} | Alert on connection pool saturation | Bob | 2026-11-24 | done |" in draft


async def test_bad_action_items_are_400_naming_the_field(make_client):
    client = await make_client()
    inc = await http.open_incident(client)
    for body, fragment in [
        ({"owner": "bob", "due": "2026-12-01"}, "'title' is required"),
        ({"title": "x", "due": "2026-12-01"}, "'owner' is required"),
        ({"title": "x", "owner": "mallory", "due": "2026-12-01"}, "'owner': unknown user"),
        ({"title": "x", "owner": "bob"}, "'due' is required"),
        ({"title": "x", "owner": "bob", "due": "next week"}, "'due': expected a date"),
    ]:
        resp = await client.post(f"/api/v1/incidents/{inc}/actions", json=body, headers=support.API)
        assert resp.status == 400 and fragment in (await resp.json())["error"], body
    missing = await client.post(
        "/api/v1/incidents/999999/actions",
        json={"title": "x", "owner": "bob", "due": "2026-12-01"},
        headers=support.API,
    )
    assert missing.status == 404
    assert (await client.post("/api/v1/actions/999999/done", headers=support.API)).status == 404
    bad = await client.get("/api/v1/actions", params={"status": "maybe"}, headers=support.API)
    assert bad.status == 400


def reminders(mailbox) -> list:
    return [m for m in mailbox.received if m[2]["X-Pager-Mail"] == "action_overdue"]


async def _mail(mailbox, n: int):
    found = reminders(mailbox)
    return found if len(found) >= n else None
