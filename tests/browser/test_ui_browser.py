"""A responder's morning in Chromium, at a phone's width and a desktop's: sign in by the emailed
link, find the P0, open it, acknowledge it; no page scrolls sideways; refusals hold; axe is happy."""

from __future__ import annotations

import datetime
import json
import re

import pytest

from tests.support import browser, ui, wait

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

SIGN_IN_LABEL = "Email address or phone number"


async def _seen(page, viewport: str, name: str) -> None:
    """A screenshot for people, and the check that the page fits the screen's width."""
    await browser.screenshot(page, viewport, name)
    width, viewport_width = await browser.overflow(page)
    assert width <= viewport_width, f"{name}: the page is {width}px wide in a {viewport_width}px viewport"


async def _sign_in(page, site, email: str = "alice@example.com", seen: int = 0) -> str:
    await page.goto(f"{site.url}/signin")
    await page.get_by_label(SIGN_IN_LABEL).fill(email)
    await page.get_by_role("button", name="Send me a sign-in link").click()
    await page.get_by_text("Check your inbox").wait_for()
    [link] = ui.LINK.findall(await site.signin_mail(email, seen))
    await page.goto(link)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(re.compile(r"/$"))
    return link


async def _checkout_outage(site) -> int:
    return await site.alertmanager(
        '{}:{alertname="CheckoutErrors"}',
        [
            {
                "labels": {
                    "alertname": "CheckoutErrors",
                    "severity": "critical",
                    "service": "checkout",
                    "region": "eu-west-1",
                },
                "annotations": {
                    "summary": "checkout 5xx above 5% for 10 minutes",
                    "description": "The payment step fails for about one order in twelve.",
                    "runbook_url": "https://runbooks.example.com/checkout/5xx",
                },
                "fingerprint": "a1",
            },
            {
                "labels": {
                    "alertname": "CheckoutErrors",
                    "severity": "critical",
                    "service": "checkout",
                    "region": "us-east-1",
                },
                "annotations": {"summary": "checkout 5xx above 5% in us-east-1"},
                "fingerprint": "a2",
            },
        ],
    )


@pytest.mark.parametrize("viewport", list(browser.VIEWPORTS))
async def test_sign_in_by_mail_find_the_p0_and_acknowledge_it(site, viewport):
    from playwright.async_api import async_playwright

    p0 = await _checkout_outage(site)
    await site.open_incident("search p99 latency above 2 s", "P2", service="search")
    await site.open_incident("certificate for api.example.com expires in 9 days", "P3", service="web")
    done = await site.open_incident("disk 91% full on db-2", "P1", service="web")
    async with site.api.post(f"{site.url}/api/v1/incidents/{done}/resolve", json={"user": "bob"}) as resp:
        assert resp.status == 200

    async with async_playwright() as pw:
        chromium = await browser.launch(pw)
        page = await (await chromium.new_context(viewport=browser.VIEWPORTS[viewport])).new_page()

        await page.goto(f"{site.url}/")
        assert page.url.endswith("/signin")
        await _seen(page, viewport, "01-sign-in")
        await page.get_by_label(SIGN_IN_LABEL).fill("alice@example.com")
        await page.get_by_role("button", name="Send me a sign-in link").click()
        await page.get_by_text("Check your inbox").wait_for()
        await _seen(page, viewport, "02-link-sent")

        [link] = ui.LINK.findall(await site.signin_mail("alice@example.com"))
        await page.goto(link)
        await _seen(page, viewport, "03-confirm-sign-in")
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(f"{site.url}/")

        row = page.locator("li.inc", has=page.locator(f'a[href="/incidents/{p0}"]'))
        await row.wait_for()
        assert "P0" in await row.inner_text() and "checkout 5xx above 5%" in await row.inner_text()
        await page.get_by_text("Live: new incidents appear here.").wait_for()
        await _seen(page, viewport, "04-incidents")

        fresh = await site.open_incident("payment provider answers in 30 s", "P1")
        await page.locator(f'a[href="/incidents/{fresh}"]').wait_for()  # no reload: it came by the event stream
        assert await page.locator(".count.p1 .n").inner_text() == "1"
        await _seen(page, viewport, "05-incidents-live")

        await row.get_by_role("link").click()
        await page.wait_for_url(f"**/incidents/{p0}")
        await page.get_by_role("link", name="Runbook").first.wait_for()
        await _seen(page, viewport, "06-incident")
        await page.get_by_role("button", name="Acknowledge").click()
        await page.get_by_text("Acknowledged. Pending pages").wait_for()
        await _seen(page, viewport, "07-acknowledged")

        inc = await site.incident(p0)
        assert inc["status"] == "acknowledged" and inc["acknowledged_by"] == "alice"
        [acked] = [e for e in inc["timeline"] if e["kind"] == "acknowledged"]  # then she commands: role_changed
        assert acked["details"] == {"via": "web"}

        await page.goto(f"{site.url}/oncall")
        await page.locator("svg.chart").first.wait_for()
        await _seen(page, viewport, "08-oncall")
        await chromium.close()


async def test_used_and_expired_links_forms_without_csrf_and_hostile_labels_are_refused(site):
    from playwright.async_api import async_playwright

    evil = await site.open_incident(
        "<script>window.__pwned = 1</script>checkout <img src=x onerror='window.__pwned = 2'>",
        "P0",
        labels={"team": "<script>window.__pwned = 3</script>", "url": "https://example.com/" + "x" * 300},
    )
    async with async_playwright() as pw:
        chromium = await browser.launch(pw)
        phone = browser.VIEWPORTS["phone"]
        page = await (await chromium.new_context(viewport=phone)).new_page()
        link = await _sign_in(page, site)

        used = await page.goto(link)
        assert used is not None and used.status == 410
        assert "already used" in await page.inner_text("main")
        await _seen(page, "phone", "09-link-used")

        other = await (await chromium.new_context(viewport=phone)).new_page()
        await other.goto(f"{site.url}/signin")
        await other.get_by_label(SIGN_IN_LABEL).fill("bob@example.com")
        await other.get_by_role("button", name="Send me a sign-in link").click()
        [late] = ui.LINK.findall(await site.signin_mail("bob@example.com"))
        await site.clock.advance(datetime.timedelta(minutes=16))
        expired = await other.goto(late)
        assert expired is not None and expired.status == 410 and "expired" in await other.inner_text("main")
        assert await other.get_by_role("button", name="Sign in").count() == 0
        assert (await other.goto(f"{site.url}/")) is not None and other.url.endswith("/signin")

        await page.goto(f"{site.url}/incidents/{evil}")
        assert await page.evaluate("window.__pwned") is None
        text = await page.inner_text("main")
        assert "<script>window.__pwned = 1</script>checkout <img src=x" in text
        assert "team=<script>window.__pwned = 3</script>" in text
        await _seen(page, "phone", "10-hostile-text")

        await page.evaluate("document.querySelectorAll('input[name=csrf]').forEach(e => e.remove())")
        async with page.expect_response(f"**/incidents/{evil}/acknowledge") as answer:
            await page.get_by_role("button", name="Acknowledge").click()
        assert (await answer.value).status == 403
        assert "security token" in await page.inner_text("main")
        await _seen(page, "phone", "11-no-csrf")
        assert (await site.incident(evil))["status"] == "triggered"
        await page.goto(f"{site.url}/")
        assert await page.evaluate("window.__pwned") is None
        await chromium.close()


@pytest.mark.parametrize("viewport", list(browser.VIEWPORTS))
async def test_no_serious_or_critical_axe_violations_on_any_page(site, viewport, capsys):
    if not browser.AXE.exists():
        pytest.skip(f"axe-core not found at {browser.AXE} (npm install --prefix build/npm axe-core; .ci/run does)")
    from playwright.async_api import async_playwright

    await site.change("Deploy checkout v2.4.1")
    p0 = await _checkout_outage(site)
    drill = await site.drill("web")
    async with site.api.post(
        f"{site.url}/api/v1/maintenance",
        json={"services": ["search"], "duration": "1h", "reason": "index rebuild", "by": "bob"},
    ) as resp:
        assert resp.status == 201
    held = await site.open_incident("search p99 above 2 s", "P2", service="search")
    async with site.api.post(
        f"{site.url}/api/v1/incidents/{p0}/actions",
        json={"title": "Alert on burn rate", "owner": "carol", "due": "2027-01-15"},
    ) as resp:
        assert resp.status == 201
    async with async_playwright() as pw:
        chromium = await browser.launch(pw)
        context = await chromium.new_context(viewport=browser.VIEWPORTS[viewport], bypass_csp=True)
        page = await context.new_page()
        found: dict[str, list[dict[str, object]]] = {}

        async def check(name: str) -> None:
            found[name] = await browser.axe(page)
            width, viewport_width = await browser.overflow(page)
            assert width <= viewport_width, f"{name}: {width}px wide in {viewport_width}px"

        await page.goto(f"{site.url}/signin")
        await check("sign-in")
        await page.get_by_label(SIGN_IN_LABEL).fill("alice@example.com")
        await page.get_by_role("button", name="Send me a sign-in link").click()
        await page.get_by_text("Check your inbox").wait_for()
        await check("link sent")
        [link] = ui.LINK.findall(await site.signin_mail("alice@example.com"))
        await page.goto(link)
        await check("confirm sign-in")
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(f"{site.url}/")
        await check("incidents")
        await page.goto(f"{site.url}/?status=all&priority=P0")
        await page.locator("details.filters summary").click()
        await check("incidents, filtered")
        await page.goto(f"{site.url}/incidents/{p0}")
        await check("incident")
        await page.get_by_role("button", name="Acknowledge").click()
        await page.get_by_text("Acknowledged.").wait_for()
        await check("incident, acknowledged")
        await page.goto(f"{site.url}/oncall")
        for summary in await page.locator("details summary").all():
            await summary.click()
        await check("on call")
        await page.goto(f"{site.url}/maintenance")
        await check("maintenance")
        await page.goto(f"{site.url}/reports")
        await check("reports")
        await page.goto(f"{site.url}/reports?since=7d&service=checkout")
        await check("reports, one service")
        await wait.eventually(lambda: _held(site, held))
        await page.goto(f"{site.url}/incidents/{held}")
        await check("incident in maintenance")
        await page.goto(f"{site.url}/incidents/{drill}")
        await check("drill")
        await page.goto(f"{site.url}/incidents/{p0}")
        await page.get_by_text("Add an action item").click()
        await check("incident, changes and action items")
        await page.goto(f"{site.url}/incidents/{p0}/postmortem")
        await page.get_by_text("Start from pager's draft").click()
        await check("post-mortem")
        await page.goto(f"{site.url}/incidents/{p0}/postmortem?view=source")
        await check("post-mortem, Markdown")
        await page.goto(f"{site.url}/incidents/999999")
        await check("not found")
        await page.goto(link)
        await check("link refused")
        await chromium.close()

    with capsys.disabled():
        print(
            f"\naxe-core at {viewport}: "
            + json.dumps({k: [(v["id"], v["impact"]) for v in vs] for k, vs in found.items()})
        )
    bad = {name: [v for v in vs if v["impact"] in ("serious", "critical")] for name, vs in found.items()}
    assert not any(bad.values()), json.dumps(bad, indent=1)


@pytest.mark.parametrize("viewport", list(browser.VIEWPORTS))
async def test_maintenance_a_post_mortem_action_items_and_the_report(site, viewport):
    """Issues 14 and 15's screens: start a window by its form and see it hold an incident; an incident that
    followed a deploy, its action item and post-mortem (saved as the user); the report with its picture; a drill."""
    from playwright.async_api import async_playwright

    await site.change("Deploy checkout v2.4.1")
    await site.clock.advance(datetime.timedelta(minutes=20))
    p0 = await _checkout_outage(site)
    await site.clock.advance(datetime.timedelta(minutes=3))
    await site.act(p0, "acknowledge", "bob")
    await site.clock.advance(datetime.timedelta(minutes=40))
    await site.act(p0, "resolve", "bob")
    drill = await site.drill("web")

    async with async_playwright() as pw:
        chromium = await browser.launch(pw)
        page = await (await chromium.new_context(viewport=browser.VIEWPORTS[viewport])).new_page()
        await _sign_in(page, site)

        await page.get_by_role("navigation", name="Main").get_by_role("link", name="Maintenance").click()
        await page.get_by_role("heading", name="Start a window").wait_for()
        await _seen(page, viewport, "12-maintenance")
        await page.get_by_label("Search").check()
        await page.get_by_label("Lasts").select_option("1h")
        await page.get_by_label("Reason").fill("search index rebuild")
        await page.get_by_role("button", name="Start maintenance").click()
        await page.get_by_text("is active: nobody is paged").wait_for()
        await _seen(page, viewport, "13-maintenance-active")
        [window] = await site.windows()
        assert (window["services"], window["by"], window["reason"]) == (["search"], "alice", "search index rebuild")

        held = await site.open_incident("search p99 above 2 s", "P2", service="search")
        await wait.eventually(lambda: _held(site, held))
        await page.goto(f"{site.url}/incidents/{held}")
        await page.get_by_text("In maintenance: nobody is paged").wait_for()
        await _seen(page, viewport, "14-incident-in-maintenance")

        await page.goto(f"{site.url}/incidents/{p0}")
        await page.get_by_text("Deploy checkout v2.4.1").wait_for()
        await page.get_by_text("Add an action item").click()
        await page.get_by_label("What changes").fill("Alert on checkout's error budget burn, not on 5xx alone")
        await page.get_by_label("Owner").select_option("carol")
        await page.get_by_label("Due").fill((site.clock.now() + datetime.timedelta(days=7)).strftime("%Y-%m-%d"))
        await page.get_by_role("button", name="Add action item").click()
        await page.get_by_text("Action item added.").wait_for()
        await _seen(page, viewport, "15-incident-changes-and-follow-up")

        await page.get_by_role("link", name="Post-mortem draft").click()
        await page.get_by_role("heading", name="Timeline").wait_for()
        assert "Deploy checkout v2.4.1" in await page.inner_text("article")
        await _seen(page, viewport, "16-postmortem")
        await page.get_by_role("link", name="Markdown", exact=True).click()
        await page.locator("pre.markdown-source").wait_for()
        await _seen(page, viewport, "17-postmortem-markdown")
        await page.get_by_text("Start from pager's draft").click()
        text = await page.get_by_label("Markdown (saved as you").input_value()
        await page.get_by_label("Markdown (saved as you").fill(
            text.replace("_Which condition in the system", "A retry storm from the payment client. _Which condition")
        )
        await page.get_by_role("button", name="Save post-mortem").click()
        await page.get_by_text("Post-mortem saved.").wait_for()
        async with site.api.get(f"{site.url}/api/v1/incidents/{p0}/postmortem") as resp:
            assert "A retry storm from the payment client." in await resp.text()

        await page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
        picture = page.get_by_role("img", name="When incidents open")
        await picture.wait_for()
        assert await picture.evaluate("img => img.decode().then(() => img.naturalWidth)") > 0  # the SVG loaded
        await _seen(page, viewport, "18-reports")

        await page.goto(f"{site.url}/incidents/{drill}")
        await page.get_by_role("heading", name="This is a drill").wait_for()
        await _seen(page, viewport, "19-drill")

        await page.goto(f"{site.url}/maintenance")
        await page.get_by_role("button", name="End now").click()
        await page.get_by_text("has ended").wait_for()
        assert await site.windows() == []
        await chromium.close()


async def _held(site, incident_id: int) -> bool:
    return (await site.incident(incident_id))["maintenance"] is not None
