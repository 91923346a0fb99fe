"""What the web UI's pages show, from rows and config alone: the on-call picture and the incident views."""

from __future__ import annotations

import datetime
import zoneinfo

from pager import models, oncall
from pager.web.ui import schedule, views
from tests import support

UTC = datetime.UTC
NOW = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # a Monday
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")

CONFIG = support.settings(
    """
rotations:
  - id: primary
    shift: 1w
    handoff: "2026-01-05T09:00"
    members: [alice, bob]
    overrides: [{user: carol, start: "2026-11-25T09:00", end: "2026-11-26T09:00"}]
  - {id: empty, members: []}
schedules:
  - id: days
    layers: [{rotation: primary, active: [{days: mon-fri, from: "09:00", to: "17:00"}]}]
"""
).config


def test_an_override_is_marked_where_it_changes_who_is_on_call():
    resolver, base = oncall.Resolver(CONFIG), oncall.Resolver(schedule.without_overrides(CONFIG))
    start, end = NOW, NOW + datetime.timedelta(days=7)
    got = [
        (s.start.day, s.start.hour, s.users, s.override)
        for s in schedule.stretches("rotation:primary", resolver, base, start, end)
    ]
    assert got == [
        (23, 12, ("alice",), False),  # the 47th week from the Jan 5 handoff: alice's
        (25, 9, ("carol",), True),
        (26, 9, ("alice",), False),
        (30, 9, ("bob",), False),
    ]


def test_gaps_are_stretches_with_nobody_and_drawn_red():
    resolver = oncall.Resolver(CONFIG)
    lane = schedule.lane(
        CONFIG, "schedule:days", resolver, oncall.Resolver(schedule.without_overrides(CONFIG)), NOW, UTC
    )
    assert len(lane.weeks) == 4 and lane.weeks[0].now_x is not None and all(w.now_x is None for w in lane.weeks[1:])
    gaps = [b for w in lane.weeks for b in w.bars if b.gap]
    assert gaps and all(b.fill == "#b42318" for b in gaps)
    assert lane.gaps == sum(1 for h in lane.handoffs if h.gap) > 0
    for week in lane.weeks:  # each row is covered exactly once, left to right
        assert abs(sum(b.width for b in week.bars) - 100) < 0.01
        assert [b.x for b in week.bars] == sorted(b.x for b in week.bars)
    empty = schedule.lane(CONFIG, "rotation:empty", resolver, resolver, NOW, UTC)
    assert empty.now == "nobody" and all(b.gap for w in empty.weeks for b in w.bars)


def test_week_rows_follow_the_viewers_midnights_across_a_dst_change():
    resolver = oncall.Resolver(CONFIG)
    march = datetime.datetime(2026, 3, 20, 12, 0, tzinfo=UTC)  # Berlin springs forward on 29 March
    lane = schedule.lane(CONFIG, "rotation:primary", resolver, resolver, march, BERLIN)
    assert [w.ticks[0].label for w in lane.weeks] == ["Fri 20", "Fri 27", "Fri 03", "Fri 10"]
    assert all(abs(sum(b.width for b in w.bars) - 100) < 0.01 for w in lane.weeks)


def test_labels_shrink_to_what_a_bar_holds():
    cfg = CONFIG
    assert schedule._label(cfg, ("alice",), 50, schedule.NARROW_ROOM) == "Alice"
    assert schedule._label(cfg, (), 50, schedule.NARROW_ROOM) == "nobody on call"
    assert schedule._label(cfg, (), 1, schedule.NARROW_ROOM) == ""


def test_alert_links_are_made_only_of_http_urls_and_everything_else_stays_text():
    ctx = views.Context(CONFIG, oncall.Resolver(CONFIG), NOW, UTC)
    alert = views.alert_view(
        ctx,
        models.AlertState(
            fingerprint="f1",
            status="firing",
            priority=models.Priority.P0,
            summary="<b>x</b>",
            labels={"b": "2", "a": "<script>"},
            annotations={
                "runbook_url": "javascript:alert(1)",
                "dashboard_url": "https://grafana/d/1",
                "description": "d",
            },
            starts_at=None,
            ends_at=None,
            first_seen_at=NOW,
            last_seen_at=NOW,
        ),
    )
    assert alert.labels == (("a", "<script>"), ("b", "2"))
    assert alert.links == (
        views.Link("Runbook: javascript:alert(1)", None),
        views.Link("Dashboard", "https://grafana/d/1"),
    )
    assert alert.annotations == (("description", "d"),)


def test_ages_read_at_a_glance():
    assert [views.ago(datetime.timedelta(seconds=s)) for s in (5, 125, 3600, 3660 * 3, 86400 * 2 + 3600)] == [
        "<1m",
        "2m",
        "1h",
        "3h 3m",
        "2d 1h",
    ]


def test_a_trusted_user_header_must_be_a_header_name():
    import pytest

    from pager import config

    with pytest.raises(config.ConfigError) as err:
        config.parse({"server": {"trusted_user_header": "X-User: injected"}})
    assert err.value.errors[0].startswith("server.trusted_user_header:")
    assert config.parse({"server": {"trusted_user_header": "X-Forwarded-User"}}).server.trusted_user_header
