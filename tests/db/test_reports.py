"""The incident report against the hand-built set of `tests/support/reports.py`, whose answers are worked out
by hand there: counts, MTTA/MTTR with the trend, hour of week, weekday/weekend, noisiest alerts, load, drills,
and the incidents opened after a change."""

from __future__ import annotations

import datetime
import re

from pager import clock, reporting, reports
from pager.store import reports as reports_store
from pager.web import keys
from tests import support
from tests.support import reports as seeded
from tests.support.reports import CONFIG, UNTIL, seed, seed_changes


async def test_the_report_of_fifty_incidents_has_the_known_answers(pool):
    await seed(pool)
    await seed_changes(pool)
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
    assert r["drills"] == {"drills": 3, "acknowledged": 2}
    assert r["after_change"] == {
        "available": True,
        "window": "2h",
        "incidents": 30,
        "of": 40,
        "share": 0.75,
        "previous": {"incidents": 5, "of": 10, "share": 0.5},
        "by_priority": {
            "P0": {"incidents": 10, "of": 10, "share": 1.0},
            "P1": {"incidents": 0, "of": 10, "share": 0.0},
            "P2": {"incidents": 20, "of": 20, "share": 1.0},
        },
        "by_service": {
            "checkout": {"incidents": 10, "of": 20, "share": 0.5, "changes": 3, "changes_followed": 1},
            "search": {"incidents": 20, "of": 20, "share": 1.0, "changes": 1, "changes_followed": 1},
            "web": {"incidents": 0, "of": 0, "share": None, "changes": 1, "changes_followed": 0},
        },
        "changes": 5,
        "changes_followed": 2,
        "changes_followed_share": 0.4,
    }

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
    assert "40 incidents (10 in the previous 30d), 5 still open; 3 drills left out" in text
    assert (
        "Opened within 2h after a change: 30 of 40 (75%; previous period 5 of 10, 50%); "
        "5 changes, 2 followed by an incident within 2h"
    ) in text
    assert re.search(r"^  checkout\s+10 of 20\s+50%\s+3\s+1$", text, re.M)
    assert re.search(r"^  web\s+0 of 0\s+—\s+1\s+0$", text, re.M)
    assert re.search(r"checkout\s+P0\s+10 \(\+5\)\s+5m30s\s+-4m30s \(-45%\)\s+30m\s+-30m \(-50%\)", text)
    assert re.search(r"^  Sun  20? ", text, re.M) is None and re.search(r"^  Sun  10 ", text, re.M)
    assert "Weekdays 30 (1.5/day), weekends 10 (1.0/day); weekend share 25%" in text
    loaded = reports.render(r, load_only=True)
    assert "Alice: 10 night pages: the team median is 0; heaviest week 2026-11-16 (10)" in loaded

    # Past 99 incidents in an hour, the cells are each hour's share of the busiest, not a saturated "++".
    busy = [[0] * 24 for _ in range(7)]
    busy[0][9], busy[0][10], busy[6][23] = 300, 150, 1
    scaled = reports.render({**r, "hour_of_week": {**r["hour_of_week"], "matrix": busy}})
    assert "each hour per 99 of the busiest (300):" in scaled
    assert re.search(r"^  Mon  (\.  ){9}99 50 \.", scaled, re.M)
    assert re.search(r"^  Sun  (\.  ){23}1$", scaled, re.M)  # a single incident still shows


async def test_the_report_and_its_picture_over_http(make_client, pool, monkeypatch):
    await seed(pool)
    client = await make_client(support.settings(CONFIG), clock=clock.ManualClock(UNTIL))
    resp = await client.get("/api/v1/reports/incidents", params={"since": "30d"}, headers=support.API)
    assert resp.status == 200
    body = await resp.json()
    assert body["counts"]["incidents"] == 40
    assert body["picture"] == {"available": True, "svg": "/api/v1/reports/incidents.svg?since=30d"}
    assert body["after_change"] == {
        "available": False,
        "window": "2h",
        "why": "no change events recorded (send deploys to POST /v2/change/enqueue)",
    }
    await seed_changes(pool)
    one = await client.get("/api/v1/reports/incidents", params={"service": "search"}, headers=support.API)
    search = await one.json()
    assert search["counts"]["by_service"] == {"search": 20}
    assert (search["after_change"]["incidents"], search["after_change"]["of"]) == (20, 20)
    assert (search["after_change"]["changes"], search["after_change"]["changes_followed"]) == (1, 1)
    assert list(search["after_change"]["by_service"]) == ["search"]

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


async def test_mttr_runs_to_the_moment_the_alerts_cleared_not_to_the_end_of_the_stable_window(pool):
    """Issue 12: an incident that waited out `stable_for` recovered when its alerts cleared."""
    opened = UNTIL - datetime.timedelta(days=1)
    inc = await seeded.incident(pool, "checkout", 0, opened, ack=60, by="alice", resolved=1500)
    await pool.execute(
        "UPDATE incidents SET recovered_at = $2, resolved_by = 'pager' WHERE id = $1",
        inc,
        opened + datetime.timedelta(seconds=600),
    )
    await seeded.incident(pool, "checkout", 0, opened, ack=60, by="alice", resolved=1200)
    cfg = support.settings(CONFIG).config
    r = await reporting.report(reports_store.Reports(pool), cfg, datetime.timedelta(days=30), UNTIL)
    (row,) = r["response"]["by_service_priority"]
    assert (row["resolved"], row["mttr_seconds"]) == (2, 900)
