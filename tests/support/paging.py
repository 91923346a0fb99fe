"""A pager that pages by SMS through the Twilio double, for end-to-end tests driven by a fake clock."""

from __future__ import annotations

import datetime
import typing

from tests import support
from tests.support import http

START = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)
PUBLIC = "https://pager.example.com"


def settings(double: typing.Any, extra: str = "", env: typing.Mapping[str, str] | None = None) -> typing.Any:
    """SMS only, P0 and P1 by SMS; `extra` YAML sections replace the base ones (priorities included)."""
    env = {
        **support.ENV,
        **(env or {}),
        "TWILIO_ACCOUNT_SID": double.account_sid,
        "TWILIO_AUTH_TOKEN": double.auth_token,
    }
    return support.settings(
        f"""
server: {{public_url: "{PUBLIC}"}}
notifiers:
  sms: {{from: "+15005550006", api_base: "{double.url}"}}
  console: {{enabled: false}}
priorities:
  P0: {{channels: [sms]}}
  P1: {{channels: [sms]}}
{extra}
""",
        env,
    )


async def kinds(client: typing.Any, incident_id: int) -> list[str]:
    return [e["kind"] for e in (await http.detail(client, incident_id))["timeline"]]


def to(messages: typing.Sequence[typing.Any]) -> list[str]:
    """Who each SMS went to, by user (the base config's phones)."""
    names = {"+15551230001": "alice", "+15551230002": "bob", "+15551230003": "carol"}
    return [names.get(m.to, m.to) for m in messages]
