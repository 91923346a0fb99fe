"""The ack link from an SMS: GET only shows, POST acknowledges or resolves as the person it was sent to."""

from __future__ import annotations

import datetime

import pytest

from pager.store import acks
from tests import support
from tests.support import http

NOW = datetime.datetime(2026, 11, 22, 18, 0, tzinfo=datetime.UTC)


async def link_for(client, pool, user="alice", **extra):
    incident_id = await http.open_incident(client, **extra)
    await http.paged(pool, incident_id, user)
    token = await acks.Acks(pool).issue(incident_id, user, NOW)
    return incident_id, f"/a/{token}"


async def test_get_shows_the_incident_and_changes_nothing(make_client, pool):
    client = await make_client()
    incident_id, url = await link_for(client, pool, details={"runbook_url": "https://runbooks.example.com/disk"})
    await http.paged(pool, incident_id, "bob", "+15551230002")
    before = await http.detail(client, incident_id)

    for _ in range(3):  # link previewers and impatient thumbs
        resp = await client.get(url)
        assert resp.status == 200
    page = await resp.text()

    assert resp.content_type == "text/html"
    assert f"#{incident_id}" in page and "[P1]" in page and "web" in page and "disk full on db-1" in page
    assert "Triggered" in page
    assert "Alice, Bob" in page
    assert '<a href="https://runbooks.example.com/disk"' in page
    assert 'name="viewport"' in page and "<script" not in page
    assert 'value="acknowledge"' in page and 'value="resolve"' in page and 'method="post"' in page
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Referrer-Policy"] == "no-referrer"  # the runbook must not learn the token
    after = await http.detail(client, incident_id)
    assert after["status"] == "triggered"
    assert after["timeline"] == before["timeline"]
    assert (await client.head(url)).status == 200


async def test_post_acknowledge_acts_as_the_links_user_via_link(make_client, pool):
    client = await make_client()
    incident_id, url = await link_for(client, pool)

    resp = await client.post(url, data={"action": "acknowledge"}, allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"] == url.removeprefix("/a/")  # relative: survives a path prefix

    inc = await http.detail(client, incident_id)
    assert inc["status"] == "acknowledged" and inc["acknowledged_by"] == "alice"
    entry, took = inc["timeline"][-2:]  # acknowledging made her commander, too
    assert entry["kind"] == "acknowledged" and entry["actor"] == "alice" and entry["details"] == {"via": "link"}
    assert took["kind"] == "role_changed" and inc["roles"]["commander"] == "alice"

    page = await (await client.get(url)).text()
    assert "Acknowledged by Alice" in page
    assert 'value="acknowledge"' not in page and 'value="resolve"' in page


async def test_following_the_redirect_shows_the_result(make_client, pool):
    client = await make_client()
    _, url = await link_for(client, pool)
    resp = await client.post(url, data={"action": "acknowledge"})
    assert resp.status == 200 and str(resp.url.path) == url
    assert "Acknowledged by Alice" in await resp.text()


async def test_post_resolve(make_client, pool):
    client = await make_client()
    incident_id, url = await link_for(client, pool)

    resp = await client.post(url, data={"action": "resolve"}, allow_redirects=False)
    assert resp.status == 303

    inc = await http.detail(client, incident_id)
    assert inc["status"] == "resolved" and inc["resolved_by"] == "alice"
    entry = inc["timeline"][-1]
    assert entry["kind"] == "resolved" and entry["actor"] == "alice" and entry["details"] == {"via": "link"}


async def test_acknowledging_what_someone_else_acknowledged_keeps_their_name(make_client, pool):
    client = await make_client()
    incident_id, url = await link_for(client, pool)
    resp = await client.post(f"/api/v1/incidents/{incident_id}/acknowledge", json={"user": "bob"}, headers=support.API)
    assert resp.status == 200
    before = await http.detail(client, incident_id)

    resp = await client.post(url, data={"action": "acknowledge"})
    assert resp.status == 200 and "Acknowledged by Bob" in await resp.text()
    assert (await http.detail(client, incident_id))["timeline"] == before["timeline"]


async def test_resolved_incident_shows_no_buttons_and_post_changes_nothing(make_client, pool):
    client = await make_client()
    incident_id, url = await link_for(client, pool)
    resp = await client.post(f"/api/v1/incidents/{incident_id}/resolve", json={"user": "bob"}, headers=support.API)
    assert resp.status == 200
    before = await http.detail(client, incident_id)

    page = await (await client.get(url)).text()
    assert "Resolved by Bob" in page
    assert "<form" not in page and "<button" not in page

    for action in ("acknowledge", "resolve"):
        resp = await client.post(url, data={"action": action}, allow_redirects=False)
        assert resp.status == 409
        text = await resp.text()
        assert "already resolved" in text and "<button" not in text
    after = await http.detail(client, incident_id)
    assert after["status"] == "resolved" and after["resolved_by"] == "bob"
    assert after["timeline"] == before["timeline"]


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_unknown_token_is_404(make_client, pool, method):
    client = await make_client()
    await link_for(client, pool)
    resp = await client.request(method, "/a/not-a-real-token-at-all", data={"action": "acknowledge"})
    assert resp.status == 404
    assert resp.content_type == "text/html" and "not valid" in await resp.text()


@pytest.mark.parametrize("form", [{"action": "snooze"}, {}, {"action": ""}])
async def test_unknown_action_is_400_and_changes_nothing(make_client, pool, form):
    client = await make_client()
    incident_id, url = await link_for(client, pool)
    before = await http.detail(client, incident_id)
    resp = await client.post(url, data=form, allow_redirects=False)
    assert resp.status == 400 and resp.content_type == "text/html"
    after = await http.detail(client, incident_id)
    assert after["status"] == "triggered" and after["timeline"] == before["timeline"]


async def test_everything_from_an_alert_is_escaped(make_client, pool):
    client = await make_client()
    summary = '<script>alert("x")</script> & <b>bold</b>'
    _, url = await link_for(client, pool, summary=summary, details={"runbook_url": "javascript:alert(1)"})

    page = await (await client.get(url)).text()

    assert "<script>" not in page and "<b>bold" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page
    assert 'href="javascript:' not in page and "javascript:alert(1)" in page


async def test_needs_no_api_token(make_client, pool):
    client = await make_client()
    incident_id, url = await link_for(client, pool)
    resp = await client.post(
        url, data={"action": "acknowledge"}, headers={"Authorization": "Bearer wrong"}, allow_redirects=False
    )
    assert resp.status == 303
    assert (await http.detail(client, incident_id))["status"] == "acknowledged"


async def test_a_grafana_incident_links_its_dashboard_and_panel(make_client, pool):
    client = await make_client()
    dashboard = "https://play.grafana.org/d/ece9fb32?orgId=1"
    _, url = await link_for(
        client, pool, details={"dashboardURL": dashboard, "panelURL": dashboard + "&viewPanel=2", "silenceURL": "x"}
    )
    page = await (await client.get(url)).text()
    assert f'<dt>Dashboard</dt><dd><a href="{dashboard.replace("&", "&amp;")}"' in page
    assert "<dt>Panel</dt>" in page and "viewPanel=2" in page
