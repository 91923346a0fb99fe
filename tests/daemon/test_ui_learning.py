"""The web UI's screens for learning from incidents, through the daemon as a browser without JavaScript uses
them: the post-mortem (rendered safely, as Markdown, edited and saved), action items, the incident page's
drill, changes and follow-up, and /reports with the hand-built set's known figures."""

from __future__ import annotations

import datetime
import html
import re

from pager import clock, reporting
from pager.web import keys
from tests import support
from tests.support import http, ui
from tests.support import reports as known

NOW = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)
MIN = datetime.timedelta(minutes=1)


def text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


async def test_the_post_mortem_reads_rendered_and_as_markdown_and_is_saved_as_you(make_client):
    fake = clock.ManualClock(NOW)
    client = await make_client(clock=fake)
    inc = await http.open_incident(client, priority="P0", summary="checkout <img src=x onerror=alert(1)> | **down**")
    token = await ui.sign_in(client)
    await fake.advance(3 * MIN)
    await client.post(f"/incidents/{inc}/resolve", data={"csrf": token})

    incident_page = await (await client.get(f"/incidents/{inc}")).text()
    assert f'href="/incidents/{inc}/postmortem"' in incident_page
    assert "not saved yet · due Wed 25 Nov 12:03" in text(incident_page)  # P0: 48 h after the resolve

    page = await (await client.get(f"/incidents/{inc}/postmortem")).text()
    assert "<img" not in page and "<strong>down" not in page
    assert "checkout &lt;img src=x onerror=alert(1)&gt; | **down**" in page  # the alert's text, as text
    assert "<h2>Timeline</h2>" in page and '<div class="scroll" tabindex="0" role="region"' in page
    assert "pager's draft, not saved yet." in text(page)

    source = await (await client.get(f"/incidents/{inc}/postmortem?view=source")).text()
    markdown = await (await client.get(f"/api/v1/incidents/{inc}/postmortem", headers=support.API)).text()
    body = re.search(r'<pre class="markdown-source"[^>]*>(.*?)</pre>', source, re.S)[1]
    assert html.unescape(body) == markdown  # the very Markdown the API serves, escaped

    edited = (
        "# Review\n\n<script>alert(1)</script>\n\n[run](javascript:alert(2)) and [docs](https://docs.example.com)\n"
    )
    resp = await client.post(
        f"/incidents/{inc}/postmortem", data={"csrf": token, "body": edited}, allow_redirects=False
    )
    assert resp.status == 303 and resp.headers["Location"] == f"/incidents/{inc}/postmortem?done=saved"
    saved = await client.get(f"/api/v1/incidents/{inc}/postmortem", headers=support.API)
    assert saved.headers["X-Pager-Postmortem"] == "saved" and await saved.text() == edited
    assert (await client.app[keys.POSTMORTEMS].saved(inc)).updated_by == "alice"

    page = await (await client.get(resp.headers["Location"])).text()
    assert "Post-mortem saved." in page and "Saved: saved by Alice, 12:03" in text(page)
    assert "<script>alert(1)" not in page and "javascript:" not in page.split("<textarea", 1)[0]
    assert '<a href="https://docs.example.com">docs</a>' in page
    draft = await (await client.get(f"/incidents/{inc}/postmortem?draft=1")).text()
    assert "pager's draft (a saved version exists)." in text(draft) and "<h2>Impact</h2>" in draft
    empty = await client.post(f"/incidents/{inc}/postmortem", data={"csrf": token, "body": "  "}, allow_redirects=False)
    assert empty.headers["Location"].endswith("?done=empty")
    assert await (await client.get(f"/api/v1/incidents/{inc}/postmortem", headers=support.API)).text() == edited
    assert (await client.get("/incidents/999/postmortem")).status == 404


async def test_action_items_are_added_and_done_as_you(make_client):
    client = await make_client(clock=clock.ManualClock(NOW))
    inc = await http.open_incident(client, priority="P1")
    token = await ui.sign_in(client)
    for form, done in [
        ({"title": " ", "owner": "bob", "due": "2026-12-01"}, "action_no_title"),
        ({"title": "Alert on queue depth", "owner": "mallory", "due": "2026-12-01"}, "action_bad_owner"),
        ({"title": "Alert on queue depth", "owner": "bob", "due": "next week"}, "action_bad_due"),
    ]:
        resp = await client.post(f"/incidents/{inc}/actions", data={"csrf": token, **form}, allow_redirects=False)
        assert resp.headers["Location"] == f"/incidents/{inc}?done={done}"
    assert (await (await client.get("/api/v1/actions", headers=support.API)).json())["actions"] == []

    resp = await client.post(
        f"/incidents/{inc}/actions",
        data={"csrf": token, "title": "Alert on queue <depth>", "owner": "bob", "due": "2026-12-01"},
        allow_redirects=False,
    )
    assert resp.headers["Location"] == f"/incidents/{inc}?done=action_added"
    [item] = (await (await client.get("/api/v1/actions", headers=support.API)).json())["actions"]
    assert (item["title"], item["owner"], item["due"], item["created_by"]) == (
        "Alert on queue <depth>",
        "bob",
        "2026-12-01",
        "alice",
    )
    page = await (await client.get(resp.headers["Location"])).text()
    assert "Alert on queue &lt;depth&gt;" in page
    assert "Action item added." in text(page) and "Action items (1)" in text(page)
    assert "Bob · due Tue 01 Dec 2026" in text(page)

    resp = await client.post(f"/actions/{item['id']}/done", data={"csrf": token}, allow_redirects=False)
    assert resp.headers["Location"] == f"/incidents/{inc}?done=action_done"
    [item] = (await (await client.get("/api/v1/actions", headers=support.API)).json())["actions"]
    assert (item["status"], item["done_by"]) == ("done", "alice")
    page = text(await (await client.get(resp.headers["Location"])).text())
    assert "done by Alice, 12:00" in page and "Mark done" not in page
    assert (await client.post("/actions/999/done", data={"csrf": token})).status == 404


async def test_the_incident_page_shows_its_recent_changes_and_a_drill_as_a_drill(make_client):
    fake = clock.ManualClock(NOW)
    client = await make_client(clock=fake)
    change = {
        "routing_key": support.EVENTS_KEY,
        "payload": {"summary": "Deploy web v7 <b>", "source": "ci", "custom_details": {"service": "web"}},
        "links": [{"href": "https://ci.example.com/220", "text": "Build 220"}, {"href": "javascript:alert(1)"}],
    }
    assert (await client.post("/v2/change/enqueue", json=change)).status == 202
    await fake.advance(25 * MIN)
    inc = await http.open_incident(client, service="web")
    resp = await client.post("/api/v1/drills", json={"service": "web", "by": "bob"}, headers=support.API)
    drill = (await resp.json())["id"]
    await ui.sign_in(client)

    page = await (await client.get(f"/incidents/{inc}")).text()
    shown = text(page)
    assert "Changes in the 2 h before it opened 12:00 · 25m before it opened · ci Deploy web v7 <b> Build 220" in shown
    assert '<a href="https://ci.example.com/220" rel="noopener noreferrer">Build 220</a>' in page
    assert "javascript:" not in page and "Deploy web v7 &lt;b&gt;" in page
    assert "This is a drill" not in shown

    page = await (await client.get(f"/incidents/{drill}")).text()
    shown = text(page)
    assert "Drill" in re.search(r'<p class="line1">(.*?)</p>', page, re.S)[1]
    assert "This is a drill It walks the real chain, and every page it sends starts with [DRILL]." in shown
    assert "Running: nobody has acknowledged it yet." in shown
    assert "A drill has no post-mortem." in shown and f"/incidents/{drill}/postmortem" not in page
    listed = await (await client.get("/")).text()
    row = re.search(rf'<li class="inc[^"]*">\s*<a href="/incidents/{drill}">(.*?)</a>', listed, re.S)[1]
    assert '<span class="tag drill">Drill</span>' in row


async def test_reports_show_the_known_figures_and_the_picture(make_client, pool, monkeypatch):
    await known.seed(pool)
    await known.seed_changes(pool)
    client = await make_client(support.settings(known.CONFIG), clock=clock.ManualClock(known.UNTIL))
    assert (await client.get("/reports/incidents.svg")).status == 401  # a picture needs a session too
    await ui.sign_in(client)

    page = await (await client.get("/reports")).text()
    shown = text(page)
    assert "Incidents, last 30d, all services" in shown
    assert "Incidents 40 10 in the previous 30d" in shown
    assert "MTTA 6m50s -3m10s (-32%) on the previous 30d" in shown  # 410 s against 600 s
    assert "Opened within 2h after a change 75% 30 of 40" in shown
    assert "On weekends 25% 10 of 40" in shown
    assert "Drills are left out of every figure: 3 drills in this period, 2 acknowledged." in shown
    assert "5 changes recorded, 2 followed by an incident within 2h." in shown
    assert "checkout P0 10 (+5) 5m30s -4m30s (-45%) 30m -30m (-50%)" in shown
    assert "checkout 10 of 20 50% 3 1" in shown and "search 20 of 20 100% 1 1" in shown
    assert "HighErrorRate 30 10 10" in shown and "Alice 20 10 133.25 336" in shown
    assert '<th scope="row">Sun</th><td class="h3">10</td>' in page  # Sunday 00:00 in Berlin: half the most
    assert '<td class="h5">20</td>' in page.split('<th scope="row">Wed</th>', 1)[1].split("</tr>", 1)[0]
    assert '<img src="/reports/incidents.svg?since=30d"' in page

    svg = await client.get("/reports/incidents.svg", params={"since": "30d"})
    assert svg.status == 200 and svg.content_type == "image/svg+xml"
    assert "When incidents open" in await svg.text()

    one = text(await (await client.get("/reports", params={"since": "7d", "service": "search"})).text())
    assert "Incidents, last 7d, search" in one
    assert "Incidents 20" in one and "Opened within 2h after a change 100% 20 of 20" in one
    bad = await client.get("/reports", params={"since": "forever"})
    assert bad.status == 400 and "Period 'forever'" in text(await bad.text()) and "last 30d" in text(await bad.text())

    monkeypatch.setattr(
        reporting.report_picture,
        "available",
        lambda: (False, "matplotlib is not installed: pip install 'pager[reports]'"),
    )
    without = text(await (await client.get("/reports")).text())
    assert "The picture is not available: matplotlib is not installed: pip install 'pager[reports]'." in without
    assert "Incidents 40" in without  # the tables stand alone
    assert (await client.get("/reports/incidents.svg")).status == 501
