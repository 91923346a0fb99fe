"""The web UI over HTTP, as a browser without JavaScript uses it: sign-in, sessions, CSRF, pages, actions."""

from __future__ import annotations

import asyncio
import datetime
import json
import re

from pager import clock
from pager.web.ui import uikeys
from tests import support
from tests.support import http, smtp_double, ui

NOW = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)


def _email_settings(port: int, extra: str = "") -> object:
    return support.settings(
        f"notifiers: {{email: {{host: 127.0.0.1, port: {port}, from: pager@example.com}}}}\n{extra}"
    )


async def test_sign_in_by_emailed_link_opens_a_session_cookie(make_client):
    with smtp_double.smtp_server() as (mailbox, port):
        client = await make_client(_email_settings(port))
        resp = await client.get("/", allow_redirects=False)
        assert resp.status == 303 and resp.headers["Location"] == "/signin"

        form = await (await client.get("/signin")).text()
        resp = await client.post("/signin", data={"csrf": ui.csrf(form), "address": "Alice@Example.com"})
        assert resp.status == 200
        assert "Check your inbox" in await resp.text()
        await ui.settle(client)

    [(_, rcpt, mail)] = mailbox.received
    assert rcpt == ["alice@example.com"] and mail["Subject"] == "Your pager sign-in link"
    [url] = ui.LINK.findall(mail.get_content())
    path = ui.link_path(url)

    confirm = await client.get(path)
    assert confirm.status == 200 and "Sign in as Alice" in await confirm.text()
    assert confirm.headers["Referrer-Policy"] == "no-referrer"
    assert "pager_session" not in confirm.cookies  # opening the link (a mail scanner does) signs nobody in

    resp = await client.post(path, data={"csrf": ui.csrf(await confirm.text())}, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/"
    cookie = next(v for k, v in resp.headers.items() if k == "Set-Cookie" and v.startswith("pager_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie and "Path=/" in cookie

    page = await client.get("/")
    assert page.status == 200 and "Signed in as <strong>Alice</strong>" in await page.text()


async def test_cookie_is_secure_when_public_url_is_https(make_client):
    client = await make_client(support.settings("server: {public_url: 'https://pager.example.com'}"))
    path = await ui.issue_link(client)
    confirm = await client.get(path)
    csrf_cookie = confirm.cookies["pager_csrf"]
    assert csrf_cookie["secure"] and csrf_cookie["httponly"]
    # a browser sends a Secure cookie over https only; this test client speaks http, so it is sent by hand
    resp = await client.post(
        path,
        data={"csrf": ui.csrf(await confirm.text())},
        headers={"Cookie": f"pager_csrf={csrf_cookie.value}"},
        allow_redirects=False,
    )
    assert resp.status == 303
    session = resp.cookies["pager_session"]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"


async def test_an_address_of_nobody_gets_the_same_answer_and_no_mail(make_client):
    with smtp_double.smtp_server() as (mailbox, port):
        client = await make_client(_email_settings(port))
        form = await (await client.get("/signin")).text()
        resp = await client.post("/signin", data={"csrf": ui.csrf(form), "address": "mallory@example.com"})
        assert resp.status == 200 and "Check your inbox" in await resp.text()
        await ui.settle(client)
    assert mailbox.received == []


async def test_a_used_link_is_refused_and_so_is_an_expired_one(make_client):
    fake = clock.ManualClock(NOW)
    client = await make_client(clock=fake)
    sessions = client.server.app[uikeys.SESSIONS]
    used = await sessions.issue_link("alice", NOW)
    assert (await ui.redeem(client, f"/signin/{used}")).status == 303
    client.session.cookie_jar.clear()

    again = await client.get(f"/signin/{used}")
    assert again.status == 410 and "already used" in await again.text()
    form = ui.csrf(await (await client.get("/signin")).text())
    resp = await client.post(f"/signin/{used}", data={"csrf": form}, allow_redirects=False)
    assert resp.status == 410 and "pager_session" not in resp.cookies

    late = await sessions.issue_link("bob", NOW)
    await fake.advance(datetime.timedelta(minutes=15, seconds=1))
    resp = await client.get(f"/signin/{late}")
    assert resp.status == 410 and "expired" in await resp.text()
    resp = await client.post(f"/signin/{late}", data={"csrf": form}, allow_redirects=False)
    assert resp.status == 410
    assert (await client.get("/signin/not-a-token")).status == 410
    assert (await client.get("/", allow_redirects=False)).status == 303  # still nobody


async def test_every_form_post_without_its_csrf_token_is_403(make_client):
    client = await make_client()
    incident_id = await http.open_incident(client)
    token = await ui.sign_in(client)
    posts = [
        "/signin",
        "/signin/some-token",
        "/signout",
        "/signout/everywhere",
        *(f"/incidents/{incident_id}/{verb}" for verb in ("acknowledge", "resolve", "escalate", "note")),
        "/maintenance",
        "/maintenance/1/end",
        f"/incidents/{incident_id}/postmortem",
        f"/incidents/{incident_id}/actions",
        "/actions/1/done",
    ]
    app_posts = {
        r.resource.canonical
        for r in client.server.app.router.routes()
        if r.method == "POST" and not r.resource.canonical.startswith(("/api/", "/v1/", "/v2/", "/a/", "/u/"))
    }
    assert app_posts == {
        "/signin",
        "/signin/{token}",
        "/signout",
        "/signout/{where}",
        "/incidents/{id}/{action}",
        "/maintenance",
        "/maintenance/{id}/end",
        "/incidents/{id}/postmortem",
        "/incidents/{id}/actions",
        "/actions/{id}/done",
    }
    for path in posts:
        for data in (
            {},
            {"csrf": "forged"},
            {"csrf": token + "x", "text": "hi", "service": "web", "reason": "r", "body": "# x", "title": "t"},
        ):
            resp = await client.post(path, data=data, allow_redirects=False)
            assert resp.status == 403, (path, data, resp.status)
            assert "security token" in await resp.text()
    inc = await http.detail(client, incident_id)
    assert inc["status"] == "triggered" and [e["kind"] for e in inc["timeline"]] == ["triggered"]
    assert (await (await client.get("/api/v1/maintenance", headers=support.API)).json())["maintenance"] == []
    assert (await (await client.get("/api/v1/actions", headers=support.API)).json())["actions"] == []
    pm = await client.get(f"/api/v1/incidents/{incident_id}/postmortem", headers=support.API)
    assert pm.headers["X-Pager-Postmortem"] == "draft"
    assert (await client.get("/")).status == 200  # still signed in: nothing was ended


async def test_acknowledge_resolve_note_as_the_signed_in_user(make_client):
    client = await make_client()
    incident_id = await http.open_incident(client, priority="P0", summary="checkout down")
    token = await ui.sign_in(client, "bob")

    resp = await client.post(f"/incidents/{incident_id}/acknowledge", data={"csrf": token}, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == f"/incidents/{incident_id}?done=acknowledged"
    page = await (await client.get(resp.headers["Location"])).text()
    assert "Acknowledged. Pending pages" in page and 'value="' in page and ">Acknowledge<" not in page

    await client.post(f"/incidents/{incident_id}/note", data={"csrf": token, "text": "rolled back 1.2.3"})
    await client.post(f"/incidents/{incident_id}/resolve", data={"csrf": token})
    inc = await http.detail(client, incident_id)
    assert inc["status"] == "resolved"
    assert inc["acknowledged_by"] == "bob" and inc["resolved_by"] == "bob"
    kinds = [(e["kind"], e["actor"], e["details"]) for e in inc["timeline"][1:]]
    assert kinds == [
        ("acknowledged", "bob", {"via": "web"}),
        ("role_changed", "bob", {"role": "commander", "user": "bob", "was": None, "via": "web"}),
        ("note", "bob", None),
        ("resolved", "bob", {"via": "web"}),
    ]
    assert inc["timeline"][3]["message"] == "rolled back 1.2.3"

    again = await client.post(f"/incidents/{incident_id}/acknowledge", data={"csrf": token})
    assert "Nothing changed" in await again.text()


async def test_escalate_now_pages_the_next_step_and_names_who_asked(make_client):
    client = await make_client()
    incident_id = await http.open_incident(client)
    token = await ui.sign_in(client, "carol")
    resp = await client.post(f"/incidents/{incident_id}/escalate", data={"csrf": token})
    assert "Escalated" in await resp.text()
    inc = await http.detail(client, incident_id)
    assert inc["escalation"]["step"] >= 0
    [asked] = [e for e in inc["timeline"] if e["kind"] == "manual_escalation"]
    assert asked["actor"] == "carol"


async def test_hostile_alert_text_is_shown_as_text(make_client):
    client = await make_client()
    evil = "<script>alert(1)</script>"
    incident_id = await http.open_incident(
        client,
        summary=f"{evil}<img src=x onerror=alert(2)>",
        labels={"team": evil, evil: "x"},
        details={"runbook_url": "javascript:alert(3)", "note": '"><svg onload=alert(4)>'},
    )
    await ui.sign_in(client)
    for path in ("/", f"/incidents/{incident_id}"):
        page = await (await client.get(path)).text()
        assert "<script>alert" not in page and "<img src=x" not in page and "<svg onload" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="javascript:' not in page and "Runbook: javascript:alert(3)" in page


async def test_pages_answer_with_a_strict_content_security_policy(make_client):
    client = await make_client()
    await ui.sign_in(client)
    resp = await client.get("/")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert resp.headers["Cache-Control"] == "no-store"
    page = await resp.text()
    for asset in re.findall(r'(?:href|src)="(/static/[^"]+)"', page):
        got = await client.get(asset)
        assert got.status == 200, asset


async def test_signed_out_pages_send_you_to_sign_in_and_back(make_client):
    client = await make_client()
    incident_id = await http.open_incident(client)
    resp = await client.get(f"/incidents/{incident_id}", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == f"/signin?next=%2Fincidents%2F{incident_id}"
    resp = await ui.redeem(client, await ui.issue_link(client), next=f"/incidents/{incident_id}")
    assert resp.headers["Location"] == f"/incidents/{incident_id}"
    resp = await ui.redeem(client, await ui.issue_link(client), next="//evil.example.com/")
    assert resp.headers["Location"] == "/"
    assert (await client.get("/events")).status == 200
    client.session.cookie_jar.clear()
    assert (await client.get("/events", allow_redirects=False)).status == 401


async def test_sign_out_here_and_everywhere(make_client, aiohttp_client):
    client = await make_client()
    other = await aiohttp_client(client.server)  # a second device on the same server
    token = await ui.sign_in(client, "alice")
    await ui.sign_in(other, "alice")
    bob = await aiohttp_client(client.server)
    await ui.sign_in(bob, "bob")

    resp = await client.post("/signout/everywhere", data={"csrf": token}, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/signin?bye=everywhere"
    assert (await client.get("/", allow_redirects=False)).status == 303
    assert (await other.get("/", allow_redirects=False)).status == 303
    assert (await bob.get("/", allow_redirects=False)).status == 200

    bob_token = ui.csrf(await (await bob.get("/")).text())
    await bob.post("/signout", data={"csrf": bob_token})
    assert (await bob.get("/", allow_redirects=False)).status == 303


async def test_trusted_user_header_signs_in_whoever_the_proxy_names(make_client):
    client = await make_client(support.settings("server: {trusted_user_header: X-Remote-User}"))
    incident_id = await http.open_incident(client)
    resp = await client.get("/", headers={"X-Remote-User": "bob@example.com"})
    page = await resp.text()
    assert resp.status == 200 and "Signed in as <strong>Bob</strong>" in page and "Sign out" not in page
    token = ui.csrf(await (await client.get(f"/incidents/{incident_id}", headers={"X-Remote-User": "bob"})).text())

    assert (await client.get("/")).status == 401
    assert (await client.get("/", headers={"X-Remote-User": "mallory"})).status == 401
    no_csrf = await client.post(f"/incidents/{incident_id}/acknowledge", headers={"X-Remote-User": "bob"})
    assert no_csrf.status == 403
    resp = await client.post(
        f"/incidents/{incident_id}/acknowledge", data={"csrf": token}, headers={"X-Remote-User": "bob"}
    )
    assert resp.status == 200
    assert (await http.detail(client, incident_id))["acknowledged_by"] == "bob"
    # another user behind the same browser gets a session of their own, not bob's token
    resp = await client.post(
        f"/incidents/{incident_id}/resolve", data={"csrf": token}, headers={"X-Remote-User": "alice"}
    )
    assert resp.status == 403


async def test_list_shows_open_first_with_filters_and_the_apis_cursor(make_client):
    client = await make_client()
    ids = [
        await http.open_incident(client, summary=f"disk {n}", service="search" if n % 2 else "web") for n in range(56)
    ]
    done = ids[0]
    await client.post(f"/api/v1/incidents/{done}/resolve", headers=support.API)
    await ui.sign_in(client)

    page = await (await client.get("/")).text()
    shown = [int(n) for n in re.findall(r'href="/incidents/(\d+)"', page)]
    assert shown[:50] == sorted(ids[1:], reverse=True)[:50]
    api = await client.get("/api/v1/incidents", params={"status": "open", "limit": "50"}, headers=support.API)
    cursor = (await api.json())["next_cursor"]
    assert f'href="/?cursor={cursor}"' in page

    rest = await (await client.get(f"/?cursor={cursor}")).text()
    shown = [int(n) for n in re.findall(r'href="/incidents/(\d+)"', rest)]
    assert shown == [*sorted(ids[1:], reverse=True)[50:], done]  # the open ones, then the resolved below them
    assert "Recently resolved" in rest

    search = await (await client.get("/?service=search&priority=P1&status=all")).text()
    shown = {int(n) for n in re.findall(r'href="/incidents/(\d+)"', search)}
    assert shown == {i for n, i in enumerate(ids) if n % 2}
    assert (await (await client.get("/?priority=P0")).text()).count('href="/incidents/') == 0


async def test_new_incidents_arrive_on_the_event_stream(make_client):
    client = await make_client(run_engine=True)
    first = await http.open_incident(client, summary="first")
    await ui.sign_in(client)
    stream = await client.get(f"/events?after={first}")
    assert stream.status == 200 and stream.headers["Content-Type"] == "text/event-stream"
    assert await stream.content.readuntil(b"\n\n") == b"retry: 5000\n\n"
    second = await http.open_incident(client, summary="<b>second</b>", priority="P0")
    event = await asyncio.wait_for(stream.content.readuntil(b"\n\n"), 10)
    lines = dict(line.split(": ", 1) for line in event.decode().strip().splitlines())
    assert lines["event"] == "incident" and lines["id"] == str(second)
    data = json.loads(lines["data"])
    assert data["id"] == second and data["priority"] == "P0"
    assert f'href="/incidents/{second}"' in data["html"] and "&lt;b&gt;second&lt;/b&gt;" in data["html"]
    stream.close()


async def test_a_status_update_and_roles_posted_from_the_incident_page_are_recorded_as_the_signed_in_user(
    make_client,
):
    client = await make_client(support.settings("priorities: {P1: {channels: [console], update_every: 30m}}"))
    incident_id = await http.open_incident(client)
    token = await ui.sign_in(client, "carol")
    page = await (await client.get(f"/incidents/{incident_id}")).text()
    assert "Post a status update" in page and "Set roles" in page

    resp = await client.post(
        f"/incidents/{incident_id}/update",
        data={
            "csrf": token,
            "status": "Rolling back deploy 412",
            "known": "errors began at 12:02",
            "next_update_in": "15m",
        },
    )
    assert "Status update posted" in await resp.text()
    [update] = (await (await client.get(f"/api/v1/incidents/{incident_id}/updates", headers=support.API)).json())[
        "updates"
    ]
    assert (update["by"], update["status"], update["known"]) == (
        "carol",
        "Rolling back deploy 412",
        "errors began at 12:02",
    )

    bad = await client.post(f"/incidents/{incident_id}/update", data={"csrf": token, "status": " "})
    assert "was not posted" in await bad.text()

    roles = {"csrf": token, "commander": "carol", "comms": "bob", "tech_lead": "", "scribe": ""}
    resp = await client.post(f"/incidents/{incident_id}/roles", data=roles)
    assert "Roles updated" in await resp.text()
    inc = await http.detail(client, incident_id)
    assert inc["roles"] == {"commander": "carol", "comms": "bob", "tech_lead": None, "scribe": None}
    changed = [e for e in inc["timeline"] if e["kind"] == "role_changed"]
    assert changed and all(e["actor"] == "carol" for e in changed)

    resp = await client.post(f"/incidents/{incident_id}/roles", data={"csrf": token, "commander": "mallory"})
    assert "Roles were not changed" in await resp.text()
    assert (await http.detail(client, incident_id))["roles"]["commander"] == "carol"
    refused = await client.post(f"/incidents/{incident_id}/update", data={"status": "no token"})
    assert refused.status == 403
