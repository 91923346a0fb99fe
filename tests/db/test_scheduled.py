"""Timers the config keeps (no incident): scheduled drills and the report digest, through engine and mailer.

Both are rows of `timers` armed when the daemon starts (only if not armed yet,
so a restart keeps the schedule) and re-armed by their own handler.
"""

from __future__ import annotations

import datetime
import email
import email.policy
import io

from pager import clock, digest, engine, mailer, metrics
from pager.engine import drills as drill_timers
from pager.store import drills as drills_store
from pager.store import escalations
from pager.store import notices as notices_store
from pager.store import reports as reports_store
from tests import support

START = datetime.datetime(2026, 11, 23, 8, 0, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)

CONFIG = """
services:
  - {id: checkout, escalation_policy: web, time_zone: Europe/Berlin}
  - {id: web, escalation_policy: web}
priorities:
  P1: {channels: [console]}
notifiers:
  console: {enabled: true}
drills:
  - {service: checkout, priority: P1, every: 7d, first: "2026-11-24T10:00", summary: "Weekly paging drill"}
reports:
  digest: {every: 30d, emails: [retro@example.com, lead@example.com]}
"""


async def test_a_scheduled_drill_opens_at_its_local_time_and_keeps_its_schedule(pool):
    settings = support.settings(CONFIG)
    fake = clock.ManualClock(START)
    eng = engine.Engine(settings, escalations.Escalations(pool), fake, metrics.Metrics())
    store = drills_store.Drills(pool)
    await store.arm_missing(eng.kept_timers(fake.now()))
    await store.arm_missing(eng.kept_timers(fake.now() + DAY))  # a restart a day later moves nothing
    armed = await pool.fetchrow("SELECT due_at FROM timers WHERE kind = $1", drill_timers.SCHEDULE)
    assert armed["due_at"] == datetime.datetime(2026, 11, 24, 9, 0, tzinfo=datetime.UTC)  # 10:00 in Berlin

    await fake.set(armed["due_at"])
    await eng.tick()
    [drill] = await pool.fetch("SELECT * FROM incidents WHERE drill")
    assert (drill["service"], drill["priority"], drill["summary"]) == ("checkout", 1, "Weekly paging drill")
    await eng.tick()  # the engine walks its chain like any incident's
    assert await pool.fetchval("SELECT count(*) FROM notifications WHERE incident_id = $1", drill["id"]) == 1
    again = await pool.fetchval("SELECT due_at FROM timers WHERE kind = $1", drill_timers.SCHEDULE)
    assert again == datetime.datetime(2026, 12, 1, 9, 0, tzinfo=datetime.UTC)

    # pager was down for three weeks: one drill when it is back, not three, and the schedule goes on
    await fake.set(datetime.datetime(2026, 12, 20, 12, 0, tzinfo=datetime.UTC))
    await eng.tick()
    assert await pool.fetchval("SELECT count(*) FROM incidents WHERE drill") == 2
    assert await pool.fetchval("SELECT due_at FROM timers WHERE kind = $1", drill_timers.SCHEDULE) == datetime.datetime(
        2026, 12, 22, 9, 0, tzinfo=datetime.UTC
    )


async def test_a_schedule_removed_from_the_config_is_dropped_when_due(pool):
    fake = clock.ManualClock(START)
    store = drills_store.Drills(pool)
    await store.arm_missing(
        engine.Engine(support.settings(CONFIG), escalations.Escalations(pool), fake, metrics.Metrics()).kept_timers(
            START
        )
    )
    eng = engine.Engine(support.settings(""), escalations.Escalations(pool), fake, metrics.Metrics())
    await fake.set(START + 30 * DAY)
    await eng.tick()
    assert await pool.fetchval("SELECT count(*) FROM incidents WHERE drill") == 0
    assert await pool.fetchval("SELECT count(*) FROM timers") == 0


async def test_the_digest_is_mailed_every_period_with_its_picture(pool):
    settings = support.settings(CONFIG)
    fake = clock.ManualClock(START)
    eng = engine.Engine(settings, escalations.Escalations(pool), fake, metrics.Metrics())
    await drills_store.Drills(pool).arm_missing(eng.kept_timers(fake.now()))
    printed = io.StringIO()
    mail = mailer.Mailer(
        settings,
        notices_store.Notices(pool),
        fake,
        {"digest": digest.renderer(reports_store.Reports(pool), settings)},
        stream=printed,
    )
    await fake.set(START + 30 * DAY)
    await eng.tick()
    [queued] = await pool.fetch("SELECT kind, recipients, data FROM notices")
    assert (queued["kind"], queued["recipients"]) == ("digest", ["retro@example.com", "lead@example.com"])
    assert queued["data"]["until"] == (START + 30 * DAY).isoformat()
    assert await pool.fetchval("SELECT due_at FROM timers WHERE kind = 'report_digest'") == START + 60 * DAY

    assert await mail.drain() == 1
    out = printed.getvalue()  # no SMTP relay configured: the console shows the mail, as it shows pages
    assert "=== MAIL (digest) to retro@example.com, lead@example.com ===" in out
    assert "Subject: [pager] Incident report 2026-11-23 to 2026-12-23: 0 incidents" in out
    assert "[attached: incidents.png]" in out
    assert await pool.fetchval("SELECT status FROM notices") == "sent"

    composed = await digest.renderer(reports_store.Reports(pool), settings)(
        notices_store.Queued(1, "digest", None, ("retro@example.com",), None, None, queued["data"], 1, START)
    )
    whole = email.message_from_bytes(
        mail.mime(
            notices_store.Queued(1, "digest", None, ("retro@example.com",), None, None, {}, 1, START), composed
        ).as_bytes(),
        policy=email.policy.default,
    )
    [png] = [p for p in whole.iter_attachments()]
    assert png.get_content_type() == "image/png" and png.get_content()[:8] == b"\x89PNG\r\n\x1a\n"
