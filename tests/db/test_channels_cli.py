"""`pager channels`: each way out on or off, and the numbers that replied STOP, read from the database."""

from __future__ import annotations

import asyncio
import datetime

from pager import cli
from pager.store import optouts
from tests import support

AT = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)


async def test_channels_lists_what_is_on_and_the_numbers_opted_out(pool, database_url, tmp_path, monkeypatch, capsys):
    assert await optouts.OptOuts(pool).change("+15551230001", True, "STOP", AT, lambda paged: [])
    path = tmp_path / "pager.yaml"
    path.write_text(support.BASE_YAML + 'notifiers: {sms: {from: "+15005550006"}, voice: {}}\n')
    monkeypatch.setenv("PAGER_DATABASE_URL", database_url)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC1")
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "tok")
    args = cli.parser().parse_args(["channels", "--config", str(path)])  # not cli.main: it configures logging
    await asyncio.to_thread(args.func, args)
    out = capsys.readouterr().out.splitlines()
    assert out[:5] == [
        "sms: on",
        "email: off: not configured",
        "console: on",
        "voice: on",
        "slack: off: not configured",
    ]
    assert out[5] == "sms opted out: +15551230001 (alice) replied STOP at 2026-11-23T12:00:00Z; START lifts it"
