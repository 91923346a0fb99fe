"""A responder's morning in Chromium, at a phone's width and a desktop's: sign in by the emailed
link, find the P0, open it, acknowledge it; no page scrolls sideways; refusals hold; axe is happy."""

from __future__ import annotations

import datetime
import json
import re

import pytest

from tests.support import browser, ui

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

    p0 = await _checkout_outage(site)
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
