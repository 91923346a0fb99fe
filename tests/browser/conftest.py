"""A running pager (real HTTP port, real SMTP double, engine on) for Chromium to use."""

from __future__ import annotations

import dataclasses
import datetime
import typing

import aiohttp
import pytest

from pager import clock, daemon
from tests import support
from tests.support import browser, smtp_double, wait


def pytest_terminal_summary(terminalreporter: typing.Any) -> None:
    if browser.taken:
        terminalreporter.write_sep("-", f"web UI screenshots ({len(browser.taken)}), under {browser.SHOTS}")
        for path in browser.taken:
            terminalreporter.write_line(str(path))


@pytest.fixture
def needs_chromium() -> None:
    reason = browser.missing()
    if reason:
        pytest.skip(reason)


def _local(t: datetime.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M")


def site_yaml(port: int, smtp_port: int, now: datetime.datetime) -> str:
    tomorrow = (now + datetime.timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    return f"""
server: {{listen: "127.0.0.1:{port}", public_url: "http://127.0.0.1:{port}"}}
users:
  - {{id: alice, name: Alice Ng, phone: "+15551230001", email: alice@example.com, time_zone: Europe/Berlin}}
  - {{id: bob, name: Bob Okafor, phone: "+15551230002", email: bob@example.com, time_zone: Europe/Berlin}}
  - {{id: carol, name: Carol Díaz, phone: "+15551230003", email: carol@example.com, time_zone: Europe/Berlin}}
  - {{id: dan, name: Dan Weiß, email: dan@example.com, time_zone: Europe/Berlin}}
rotations:
  - id: web-primary
    time_zone: Europe/Berlin
    shift: 1w
    handoff: "2026-01-05T09:00"
    members: [alice, bob]
    overrides:
      - {{user: carol, start: "{_local(tomorrow)}", end: "{_local(tomorrow + datetime.timedelta(days=2))}"}}
  - {{id: web-secondary, time_zone: Europe/Berlin, shift: 1d, handoff: "2026-01-05T09:00", members: [carol, dan]}}
  - {{id: db-oncall, time_zone: Europe/Berlin, shift: 1w, members: []}}
schedules:
  - id: business-hours
    time_zone: Europe/Berlin
    layers:
      - {{rotation: web-secondary, active: [{{days: mon-fri, from: "09:00", to: "17:00"}}]}}
escalation_policies:
  - id: web
    steps:
      - {{targets: ["rotation:web-primary"], ack_timeout: 5m}}
      - {{targets: ["rotation:web-secondary"], ack_timeout: 10m}}
services:
  - {{id: checkout, name: Checkout, escalation_policy: web}}
  - {{id: search, name: Search, escalation_policy: web}}
  - {{id: web, escalation_policy: web}}
integrations:
  - {{id: prod-am, type: alertmanager, token_env: PAGER_AM_TOKEN, service: checkout}}
  - {{id: deploys, type: events_v2, token_env: PAGER_EVENTS_KEY, service: checkout}}
notifiers:
  email: {{host: 127.0.0.1, port: {smtp_port}, from: pager@example.com}}
  console: {{enabled: false}}
"""


@dataclasses.dataclass
class Site:
    url: str
    mailbox: smtp_double.Mailbox
    api: aiohttp.ClientSession
    clock: clock.ManualClock

    async def open_incident(
        self, summary: str, priority: str = "P1", service: str = "checkout", **extra: typing.Any
    ) -> int:
        body = {"service": service, "summary": summary, "priority": priority, **extra}
        async with self.api.post(f"{self.url}/api/v1/incidents", json=body) as resp:
            assert resp.status == 201, await resp.text()
            return int((await resp.json())["id"])

    async def alertmanager(self, group: str, alerts: list[dict[str, typing.Any]]) -> int:
        """Alertmanager's webhook (v4) with these alerts; answers the incident they opened."""
        body = {
            "version": "4",
            "groupKey": group,
            "status": "firing",
            "receiver": "pager",
            "groupLabels": {},
            "commonLabels": {},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager.example.com",
            "alerts": [
                {
                    "status": "firing",
                    "startsAt": "2026-11-30T09:00:00Z",
                    "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "http://prometheus.example.com/graph",
                    **a,
                }
                for a in alerts
            ],
        }
        async with self.api.post(f"{self.url}/v1/webhooks/alertmanager", json=body, headers=support.AM) as resp:
            assert resp.status == 200, await resp.text()
        async with self.api.get(f"{self.url}/api/v1/incidents", params={"limit": "1"}) as resp:
            return int((await resp.json())["incidents"][0]["id"])

    async def change(self, summary: str, service: str = "checkout") -> None:
        """A PagerDuty change event (a deploy) for `service`."""
        body = {
            "routing_key": support.EVENTS_KEY,
            "payload": {"summary": summary, "source": "ci", "custom_details": {"service": service}},
            "links": [{"href": "https://ci.example.com/builds/220", "text": "Build 220"}],
        }
        async with self.api.post(f"{self.url}/v2/change/enqueue", json=body) as resp:
            assert resp.status == 202, await resp.text()

    async def drill(self, service: str) -> int:
        async with self.api.post(f"{self.url}/api/v1/drills", json={"service": service, "by": "bob"}) as resp:
            assert resp.status == 201, await resp.text()
            return int((await resp.json())["id"])

    async def act(self, incident_id: int, verb: str, user: str) -> None:
        async with self.api.post(f"{self.url}/api/v1/incidents/{incident_id}/{verb}", json={"user": user}) as resp:
            assert resp.status == 200, await resp.text()

    async def windows(self) -> list[dict[str, typing.Any]]:
        async with self.api.get(f"{self.url}/api/v1/maintenance") as resp:
            return typing.cast(list[dict[str, typing.Any]], (await resp.json())["maintenance"])

    async def incident(self, incident_id: int) -> dict[str, typing.Any]:
        async with self.api.get(f"{self.url}/api/v1/incidents/{incident_id}") as resp:
            assert resp.status == 200
            return typing.cast(dict[str, typing.Any], await resp.json())

    async def signin_mail(self, to: str, seen: int = 0) -> str:
        """The body of the next sign-in mail to `to` (it is sent in the background)."""

        def mails() -> list[typing.Any]:
            return [m for _, rcpt, m in self.mailbox.received if rcpt == [to] and "sign-in" in m["Subject"]]

        await wait.eventually(lambda: len(mails()) > seen)
        return str(mails()[seen].get_content())


@pytest.fixture
async def site(needs_chromium: None, database_url: str, aiohttp_server: typing.Any) -> typing.AsyncIterator[Site]:
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    fake = clock.ManualClock(now)
    port = smtp_double.free_port()
    with smtp_double.smtp_server() as (mailbox, smtp_port):
        settings = support.settings(site_yaml(port, smtp_port, now))
        app = daemon.create_app(settings, database_url=database_url, clock=fake, run_engine=True)
        server = await aiohttp_server(app, port=port)
        async with aiohttp.ClientSession(headers=support.API) as api:
            yield Site(str(server.make_url("")).rstrip("/"), mailbox, api, fake)
