"""/maintenance in the web UI, as a browser without JavaScript uses it: start a window, see it hold an
incident, end it; every form with the session's CSRF token, each recorded as the signed-in user."""

from __future__ import annotations

import datetime
import html
import re

from pager import clock
from pager.web import keys
from tests import support
from tests.support import http, ui, wait

NOW = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)
BERLIN = """
users:
  - {id: alice, name: Alice, phone: "+15551230001", email: alice@example.com, time_zone: Europe/Berlin}
  - {id: bob, name: Bob, phone: "+15551230002", email: bob@example.com}
  - {id: carol, name: Carol, phone: "+15551230003", email: carol@example.com}
"""


def text(page: str) -> str:
    """The page's text, roughly as a reader sees it (tags dropped, entities decoded, spaces folded)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


async def windows(client) -> list[dict]:
    return (await (await client.get("/api/v1/maintenance", headers=support.API)).json())["maintenance"]


async def test_start_a_window_see_it_hold_an_incident_and_end_it(make_client):
    fake = clock.ManualClock(NOW)
    client = await make_client(support.settings(BERLIN), clock=fake, run_engine=True)
    token = await ui.sign_in(client)
    empty = text(await (await client.get("/maintenance")).text())
    assert "Active now (0)" in empty and "No window is active" in empty

    resp = await client.post(
        "/maintenance",
        data={"csrf": token, "service": "web", "duration": "30m", "reason": "db upgrade <b>now</b>"},
        allow_redirects=False,
    )
    assert resp.status == 303, await resp.text()
    [window] = await windows(client)
    assert resp.headers["Location"] == f"/maintenance?done=started&window={window['id']}"
    assert (window["services"], window["by"], window["state"]) == (["web"], "alice", "active")
    assert (window["starts_at"], window["ends_at"]) == ("2026-11-23T12:00:00Z", "2026-11-23T12:30:00Z")
    page = await (await client.get(resp.headers["Location"])).text()
    assert "db upgrade &lt;b&gt;now&lt;/b&gt;" in page  # the reason is text
    shown = text(page)
    assert f"Maintenance window #{window['id']} is active" in shown
    assert "Active now (1)" in shown and "30m left" in shown and "Until 13:30" in shown  # Berlin time
    assert "By Alice" in shown and "End now" in shown

    incident = await http.open_incident(client, service="web", summary="disk full on db-2")

    async def held() -> bool:
        return (await http.detail(client, incident))["maintenance"] == window["id"]

    await wait.eventually(held)
    listed = text(await (await client.get("/")).text())
    assert "Maintenance" in listed and "in maintenance: nobody is paged" in listed
    shown = text(await (await client.get(f"/incidents/{incident}")).text())
    assert f"In maintenance: nobody is paged Maintenance window #{window['id']} (db upgrade <b>now</b>)" in shown
    assert "holds it until 13:30" in shown and "held by maintenance window" in shown

    resp = await client.post(f"/maintenance/{window['id']}/end", data={"csrf": token}, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == f"/maintenance?done=ended&window={window['id']}"
    assert await windows(client) == []
    ended = await client.app[keys.MAINTENANCE].get(window["id"])
    assert (ended.ended_by, ended.ends_at) == ("alice", NOW)
    again = await client.post(f"/maintenance/{window['id']}/end", data={"csrf": token}, allow_redirects=False)
    assert again.headers["Location"] == f"/maintenance?done=already_ended&window={window['id']}"
    missing = await client.post("/maintenance/999/end", data={"csrf": token}, allow_redirects=False)
    assert missing.status == 404

    async def released() -> bool:
        return (await http.detail(client, incident))["maintenance"] is None

    await wait.eventually(released)


async def test_schedule_one_by_matchers_in_local_time_and_cancel_it(make_client):
    client = await make_client(support.settings(BERLIN), clock=clock.ManualClock(NOW))
    token = await ui.sign_in(client)
    resp = await client.post(
        "/maintenance",
        data={
            "csrf": token,
            "matchers": 'team="web"\n\n region=~"eu-.*" ',
            "starts_at": "2026-11-23T15:00",  # Berlin: 14:00 UTC
            "ends_at": "2026-11-23T16:30",
            "duration": "2h",  # the end wins
            "reason": "network change",
        },
        allow_redirects=False,
    )
    assert resp.status == 303, await resp.text()
    [window] = await windows(client)
    assert (window["matchers"], window["services"], window["state"]) == (
        ['team="web"', 'region=~"eu-.*"'],
        [],
        "upcoming",
    )
    assert (window["starts_at"], window["ends_at"]) == ("2026-11-23T14:00:00Z", "2026-11-23T15:30:00Z")
    shown = text(await (await client.get(resp.headers["Location"])).text())
    assert f"Maintenance window #{window['id']} is scheduled" in shown
    assert "Upcoming (1)" in shown and "starts in 2h" in shown and 'team="web" and region=~"eu-.*"' in shown
    resp = await client.post(f"/maintenance/{window['id']}/end", data={"csrf": token}, allow_redirects=False)
    assert resp.status == 303 and await windows(client) == []


async def test_a_bad_window_is_400_with_the_reason_and_the_form_kept(make_client):
    client = await make_client(support.settings(BERLIN), clock=clock.ManualClock(NOW))
    token = await ui.sign_in(client)
    for form, said in [
        ({"reason": "kept reason"}, "give 'services' (service ids) or 'matchers'"),
        ({"matchers": "team ~ web", "reason": "kept reason"}, "'matchers[0]'"),
        ({"service": "nope", "reason": "kept reason"}, "unknown service 'nope'"),
        ({"service": "web", "reason": "kept reason", "ends_at": "2026-11-23T12:30"}, "in the future"),
        ({"service": "web", "reason": "kept reason", "starts_at": "tomorrow"}, "Starts: expected a date and time"),
        ({"service": "web", "reason": "kept reason", "duration": "forever"}, "'duration'"),
        ({"service": "web", "reason": " "}, "Say why"),
    ]:
        resp = await client.post("/maintenance", data={"csrf": token, **form})
        page = await resp.text()
        assert resp.status == 400, form
        assert "The window was not saved." in text(page) and said in text(page), (form, text(page))
        if form["reason"].strip():
            assert 'value="kept reason"' in page
    assert await windows(client) == []
