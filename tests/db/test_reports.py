"""The incident report against a hand-built set of 50 incidents (and 2 drills) whose answers are worked out by hand.

The period is the 30 days before Monday 2026-11-23 00:00 UTC (from Saturday
2026-10-24: 20 weekdays, 10 weekend days); the previous period is the 30 before.

This period, 40 incidents:
- checkout P0 x10, Tue 2026-11-17 08:00 UTC (09:00 in Berlin, checkout's zone), acknowledged by alice after
  60, 120, ... 600 s (MTTA 330 s), resolved after 1800 s; each one alert HighErrorRate with 3 events; alice
  paged once each (SMS and email, one page) at 09:00:05 Berlin: daytime.
- checkout P1 x10, Sat 2026-11-21 23:00 UTC (Sunday 00:00 in Berlin), acknowledged by alice after 300 s,
  5 resolved after 3600 s and 5 still open; each one alert DiskFull with 2 events; alice paged at 00:00:05
  Berlin: a night page each.
- search P2 x20, Wed 2026-11-18 14:00 UTC (search has no zone: UTC), 10 acknowledged by bob after 600 s,
  all resolved after 7200 s; each one alert SlowQueries with 1 event; bob paged by email at 09:00:05 in
  New York; two of them paged carol too, at step 2.
Previous period, 10 incidents: checkout P0 x5 (MTTA 600, MTTR 3600), search P2 x5 (none acknowledged, MTTR 3600).
Two checkout P1 drills in this period (one acknowledged, one paging alice at night) count nowhere but in `drills`.
"""

from __future__ import annotations

import datetime
import re

from pager import clock, reporting, reports
from pager.store import reports as reports_store
from pager.web import keys
from tests import support

UNTIL = datetime.datetime(2026, 11, 23, 0, 0, tzinfo=datetime.UTC)
S = datetime.timedelta(seconds=1)

CONFIG = """
users:
  - {id: alice, name: Alice, phone: "+15551230001", email: alice@example.com, time_zone: Europe/Berlin}
  - {id: bob, name: Bob, phone: "+15551230002", email: bob@example.com, time_zone: America/New_York}
  - {id: carol, name: Carol, phone: "+15551230003", email: carol@example.com}
services:
  - {id: checkout, escalation_policy: web, time_zone: Europe/Berlin}
  - {id: search, escalation_policy: web}
  - {id: web}
"""


async def incident(pool, service, priority, created, ack=None, by=None, resolved=None, drill=False) -> int:
    return await pool.fetchval(
        "INSERT INTO incidents (service, dedup_key, priority, summary, status, created_at, last_seen_at,"
        " acknowledged_at, acknowledged_by, resolved_at, resolved_by, drill)"
        " VALUES ($1, gen_random_uuid()::text, $2, 's', $3, $4, $4, $5, $6, $7, $8, $9) RETURNING id",
        service,
        priority,
        "resolved" if resolved else "acknowledged" if ack else "triggered",
        created,
        None if ack is None else created + ack * S,
        by,
        None if resolved is None else created + resolved * S,
        None if resolved is None else "alertmanager",
        drill,
    )


async def alert(pool, inc, name, created, events):
    await pool.execute(
        "INSERT INTO alerts (incident_id, fingerprint, status, priority, summary, labels, first_seen_at, last_seen_at)"
        " VALUES ($1, 'fp', 'firing', 0, $2, $3, $4, $4)",
        inc,
        f"{name} fired",
        {"alertname": name},
        created,
    )
    for _ in range(events):
        await pool.execute(
            "INSERT INTO alert_events (incident_id, received_at, dedup_key, fingerprint, action, summary, labels)"
            " VALUES ($1, $2, 'k', 'fp', 'trigger', 's', $3)",
            inc,
            created,
            {"alertname": name},
        )


async def page(pool, inc, user, channel, at, step=0):
    await pool.execute(
        "INSERT INTO notifications (incident_id, round, step, user_id, channel, address, status, created_at,"
        " not_before, sent_at, priority) VALUES ($1, 0, $2, $3, $4, 'x', 'sent', $5, $5, $5, 1)",
        inc,
        step,
        user,
        channel,
        at,
    )


async def seed(pool) -> None:
    tue = datetime.datetime(2026, 11, 17, 8, 0, tzinfo=datetime.UTC)
    sat = datetime.datetime(2026, 11, 21, 23, 0, tzinfo=datetime.UTC)
    wed = datetime.datetime(2026, 11, 18, 14, 0, tzinfo=datetime.UTC)
    for k in range(1, 11):
        inc = await incident(pool, "checkout", 0, tue, ack=60 * k, by="alice", resolved=1800)
        await alert(pool, inc, "HighErrorRate", tue, 3)
        await page(pool, inc, "alice", "sms", tue + 5 * S)
        await page(pool, inc, "alice", "email", tue + 5 * S)
    for k in range(10):
        inc = await incident(pool, "checkout", 1, sat, ack=300, by="alice", resolved=3600 if k < 5 else None)
        await alert(pool, inc, "DiskFull", sat, 2)
        await page(pool, inc, "alice", "sms", sat + 5 * S)
    for k in range(20):
        inc = await incident(
            pool, "search", 2, wed, ack=600 if k < 10 else None, by="bob" if k < 10 else None, resolved=7200
        )
        await alert(pool, inc, "SlowQueries", wed, 1)
        await page(pool, inc, "bob", "email", wed + 5 * S)
        if k < 2:
            await page(pool, inc, "carol", "email", wed + 300 * S, step=1)
    before = datetime.datetime(2026, 10, 6, 8, 0, tzinfo=datetime.UTC)
    for _ in range(5):
        inc = await incident(pool, "checkout", 0, before, ack=600, by="alice", resolved=3600)
        await alert(pool, inc, "HighErrorRate", before, 9)
        await page(pool, inc, "alice", "sms", before + 5 * S)
        await incident(pool, "search", 2, before + S, resolved=3600)
    await incident(pool, "checkout", 1, sat, ack=30, by="alice", resolved=600, drill=True)
    drill = await incident(pool, "checkout", 1, sat, drill=True)
    await alert(pool, drill, "DrillAlert", sat, 50)
    await page(pool, drill, "alice", "sms", sat + 5 * S)


async def test_the_report_of_fifty_incidents_has_the_known_answers(pool):
    await seed(pool)
    assert await pool.fetchval("SELECT count(*) FROM incidents WHERE NOT drill") == 50
    cfg = support.settings(CONFIG).config
    r = await reporting.report(reports_store.Reports(pool), cfg, datetime.timedelta(days=30), UNTIL)

    assert (r["from"], r["until"], r["previous"]) == (
        "2026-10-24T00:00:00Z",
        "2026-11-23T00:00:00Z",
        {"from": "2026-09-24T00:00:00Z", "until": "2026-10-24T00:00:00Z"},
    )
    assert r["counts"] == {
        "incidents": 40,
        "previous_incidents": 10,
        "open": 5,
        "by_priority": {"P0": 10, "P1": 10, "P2": 20},
        "by_service": {"checkout": 20, "search": 20},
    }
    rows = {(x["service"], x["priority"]): x for x in r["response"]["by_service_priority"]}
    p0 = rows[("checkout", "P0")]
    assert (p0["incidents"], p0["acknowledged"], p0["mtta_seconds"], p0["resolved"], p0["mttr_seconds"]) == (
        10,
        10,
        330,
        10,
        1800,
    )
    assert p0["previous"] == {"incidents": 5, "mtta_seconds": 600, "mttr_seconds": 3600}
    assert p0["trend"] == {
        "incidents": 5,
        "mtta": {"seconds": -270, "ratio": -0.45},
        "mttr": {"seconds": -1800, "ratio": -0.5},
    }
    p1 = rows[("checkout", "P1")]
    assert (p1["incidents"], p1["open"], p1["mtta_seconds"], p1["resolved"], p1["mttr_seconds"]) == (
        10,
        5,
        300,
        5,
        3600,
    )
    assert p1["previous"] == {"incidents": 0, "mtta_seconds": None, "mttr_seconds": None}
    p2 = rows[("search", "P2")]
    assert (p2["acknowledged"], p2["mtta_seconds"], p2["mttr_seconds"]) == (10, 600, 7200)
    assert p2["trend"]["mtta"] == {"seconds": None, "ratio": None}  # nothing acknowledged before
    assert p2["trend"]["mttr"] == {"seconds": 3600, "ratio": 1.0}
    overall = r["response"]["overall"]
    # MTTA (3300 + 3000 + 6000) / 30 acknowledged; MTTR (18000 + 18000 + 144000) / 35 resolved
    assert (overall["acknowledged"], overall["mtta_seconds"], overall["resolved"], overall["mttr_seconds"]) == (
        30,
        410,
        35,
        5142.9,
    )
    assert overall["previous"] == {"incidents": 10, "mtta_seconds": 600, "mttr_seconds": 3600}

    matrix = r["hour_of_week"]["matrix"]
    assert (matrix[1][9], matrix[6][0], matrix[2][14]) == (10, 10, 20)  # Tue 09 and Sun 00 in Berlin, Wed 14 UTC
    assert sum(map(sum, matrix)) == 40
    assert r["hour_of_week"]["zones"] == {"checkout": "Europe/Berlin", "search": "UTC"}
    assert r["weekday_weekend"] == {
        "weekday": 30,
        "weekend": 10,
        "weekday_days": 20,
        "weekend_days": 10,
        "weekday_per_day": 1.5,
        "weekend_per_day": 1.0,
        "weekend_share": 0.25,
    }
    assert r["noisiest_alerts"] == [
        {"name": "HighErrorRate", "events": 30, "alerts": 10, "incidents": 10},
        {"name": "SlowQueries", "events": 20, "alerts": 20, "incidents": 20},
        {"name": "DiskFull", "events": 20, "alerts": 10, "incidents": 10},
    ]
    assert r["mttr_trend"]["by_priority"]["P0"] == [
        {"start": "2026-11-17T00:00:00Z", "incidents": 10, "mtta_seconds": 330, "mttr_seconds": 1800}
    ]
    assert r["drills"] == {"drills": 2, "acknowledged": 1}
    assert r["after_change"]["available"] is False

    load = r["load"]
    assert load["weeks"] == ["2026-10-19", "2026-10-26", "2026-11-02", "2026-11-09", "2026-11-16"]
    people = {p["user"]: p for p in load["people"]}
    assert list(people) == ["alice", "bob", "carol"]
    assert people["alice"]["total"] == {"pages": 20, "night_pages": 10, "holding_hours": 133.25, "oncall_hours": 336}
    assert people["bob"]["total"] == {"pages": 20, "night_pages": 0, "holding_hours": 18.33, "oncall_hours": 384}
    assert people["carol"]["total"] == {"pages": 2, "night_pages": 0, "holding_hours": 0, "oncall_hours": 0}
    # the primary rotation hands over on Mondays 09:00 UTC: bob has the week from 2026-10-19, alice the next
    assert [w["oncall_hours"] for w in people["bob"]["weeks"]] == [48, 9, 159, 9, 159]
    assert [w["oncall_hours"] for w in people["alice"]["weeks"]] == [0, 159, 9, 159, 9]
    assert people["alice"]["weeks"][-1] == {
        "week": "2026-11-16",
        "pages": 20,
        "night_pages": 10,
        "holding_hours": 133.25,
        "oncall_hours": 9,
    }
    assert [(o["user"], o["metric"]) for o in load["outliers"]] == [
        ("alice", "night_pages"),
        ("alice", "holding_hours"),
    ]
    assert load["outliers"][1]["why"].startswith("133.25 holding hours: 7.3x the team median of 18.33")

    text = reports.render(r)
    assert "40 incidents (10 in the previous 30d), 5 still open; 2 drills left out" in text
    assert re.search(r"checkout\s+P0\s+10 \(\+5\)\s+5m30s\s+-4m30s \(-45%\)\s+30m\s+-30m \(-50%\)", text)
    assert re.search(r"^  Sun  20? ", text, re.M) is None and re.search(r"^  Sun  10 ", text, re.M)
    assert "Weekdays 30 (1.5/day), weekends 10 (1.0/day); weekend share 25%" in text
    loaded = reports.render(r, load_only=True)
    assert "Alice: 10 night pages: the team median is 0; heaviest week 2026-11-16 (10)" in loaded


async def test_the_report_and_its_picture_over_http(make_client, pool, monkeypatch):
    await seed(pool)
    client = await make_client(support.settings(CONFIG), clock=clock.ManualClock(UNTIL))
    resp = await client.get("/api/v1/reports/incidents", params={"since": "30d"}, headers=support.API)
    assert resp.status == 200
    body = await resp.json()
    assert body["counts"]["incidents"] == 40
    assert body["picture"] == {"available": True, "svg": "/api/v1/reports/incidents.svg?since=30d"}
    one = await client.get("/api/v1/reports/incidents", params={"service": "search"}, headers=support.API)
    assert (await one.json())["counts"]["by_service"] == {"search": 20}

    svg = await client.get("/api/v1/reports/incidents.svg", params={"since": "30d"}, headers=support.API)
    assert svg.status == 200 and svg.content_type == "image/svg+xml"
    drawing = await svg.text()
    assert drawing.lstrip().startswith("<?xml") and "<svg" in drawing
    assert "When incidents open" in drawing and "MTTR trend" in drawing

    for query, fragment in [({"since": "forever"}, "since"), ({"service": "nope"}, "service")]:
        bad = await client.get("/api/v1/reports/incidents", params=query, headers=support.API)
        assert bad.status == 400 and (await bad.json())["error"].startswith(fragment)

    monkeypatch.setattr(
        reporting.report_picture,
        "available",
        lambda: (False, "matplotlib is not installed: pip install 'pager[reports]'"),
    )
    without = await client.get("/api/v1/reports/incidents", headers=support.API)
    assert (await without.json())["picture"] == {
        "available": False,
        "why": "matplotlib is not installed: pip install 'pager[reports]'",
    }
    absent = await client.get("/api/v1/reports/incidents.svg", headers=support.API)
    assert absent.status == 501 and "pager[reports]" in (await absent.json())["error"]
    assert client.app[keys.REPORTS] is not None
