"""The iCalendar export parses back with icalendar and says who is on call when."""

from __future__ import annotations

import datetime
import zoneinfo

import icalendar
import pytest
import yaml

from pager import config, ical, oncall

CONFIG = """
users: [{id: alice, name: Alice Liddell}, {id: bob}, {id: carol, name: Carol}]
rotations:
  - {id: web, time_zone: Europe/Berlin, shift: 1d, handoff: "2026-03-20T09:00", members: [alice, bob]}
  - id: ops
    time_zone: America/New_York
    shift: 12h
    handoff: "2026-10-01T09:00"
    members: [alice, bob]
    overrides: [{user: carol, start: "2026-11-01T12:00", end: "2026-11-01T15:00"}]
  - {id: office, members: [carol]}
  - {id: both, members: [bob]}
schedules:
  - id: web-schedule
    time_zone: Europe/Berlin
    layers:
      - {rotation: web}
      - {rotation: office, active: [{days: mon-fri, from: "09:00", to: "17:00"}]}
  - id: both
    layers: [{rotation: both}]
"""


def t(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text)


def events(ident: str, start: str, end: str, user: str | None = None, zone: str = "UTC") -> list[str]:
    cfg = config.parse(yaml.safe_load(CONFIG))
    data = ical.rotation_calendar(oncall.Resolver(cfg), cfg, ident, t(start), t(end), user)
    cal = icalendar.Calendar.from_ical(data)
    z = zoneinfo.ZoneInfo(zone)
    out = []
    for ev in cal.walk("VEVENT"):
        a, b = ev.decoded("dtstart"), ev.decoded("dtend")
        assert a.utcoffset() == datetime.timedelta() == b.utcoffset()
        out.append(f"{ev['summary']} {a.astimezone(z):%Y-%m-%dT%H:%M%z} {b.astimezone(z):%Y-%m-%dT%H:%M%z}")
    return out


@pytest.mark.parametrize(
    "ident, start, end, user, zone, expected",
    [
        (  # Berlin spring-forward: 09:00 local before and after
            "web",
            "2026-03-28T12:00Z",
            "2026-03-30T12:00Z",
            None,
            "Europe/Berlin",
            [
                "On call: Alice Liddell (web) 2026-03-28T09:00+0100 2026-03-29T09:00+0200",
                "On call: bob (web) 2026-03-29T09:00+0200 2026-03-30T09:00+0200",
                "On call: Alice Liddell (web) 2026-03-30T09:00+0200 2026-03-31T09:00+0200",
            ],
        ),
        (
            "rotation:web",
            "2026-03-28T12:00Z",
            "2026-03-30T12:00Z",
            "bob",
            "Europe/Berlin",
            ["On call: bob (web) 2026-03-29T09:00+0200 2026-03-30T09:00+0200"],
        ),
        (  # 12h across New York's fall-back, with an override in the day shift
            "ops",
            "2026-11-01T02:00Z",
            "2026-11-01T21:00Z",
            None,
            "America/New_York",
            [
                "On call: bob (ops) 2026-10-31T21:00-0400 2026-11-01T09:00-0500",
                "On call: Alice Liddell (ops) 2026-11-01T09:00-0500 2026-11-01T12:00-0500",
                "On call: Carol (ops) 2026-11-01T12:00-0500 2026-11-01T15:00-0500",
                "On call: Alice Liddell (ops) 2026-11-01T15:00-0500 2026-11-01T21:00-0500",
            ],
        ),
        (  # a schedule: office hours on Friday, then the rotation
            "web-schedule",
            "2026-03-27T10:00+01:00",
            "2026-03-27T20:00+01:00",
            None,
            "Europe/Berlin",
            [
                "On call: Carol (web-schedule) 2026-03-27T09:00+0100 2026-03-27T17:00+0100",
                "On call: bob (web-schedule) 2026-03-27T17:00+0100 2026-03-28T09:00+0100",
            ],
        ),
        (
            "schedule:both",
            "2026-03-27T00:00Z",
            "2026-03-28T00:00Z",
            None,
            "UTC",
            [
                "On call: bob (both) 2026-03-27T00:00+0000 2026-03-28T00:00+0000",
            ],
        ),
        ("office", "2026-03-27T00:00Z", "2026-03-28T00:00Z", "alice", "UTC", []),
    ],
)
def test_events(ident: str, start: str, end: str, user: str | None, zone: str, expected: list[str]) -> None:
    assert events(ident, start, end, user, zone) == expected


def test_uids_are_stable_and_unique() -> None:
    cfg = config.parse(yaml.safe_load(CONFIG))
    r = oncall.Resolver(cfg)

    def uids(start: str, end: str) -> dict[str, str]:
        cal = icalendar.Calendar.from_ical(ical.rotation_calendar(r, cfg, "web", t(start), t(end)))
        return {str(ev["uid"]): str(ev["summary"]) for ev in cal.walk("VEVENT")}

    week = uids("2026-03-23T00:00Z", "2026-03-30T00:00Z")
    later = uids("2026-03-26T12:00Z", "2026-04-02T00:00Z")
    assert len(week) == 8  # 7 days and the shift running into the window
    shared = set(week) & set(later)
    assert len(shared) == 4 and all(week[u] == later[u] for u in shared)


def test_calendar_properties() -> None:
    cfg = config.parse(yaml.safe_load(CONFIG))
    now = t("2026-03-01T12:00Z")
    start, end = t("2026-03-28T12:00Z"), t("2026-03-29T12:00Z")
    data = ical.rotation_calendar(oncall.Resolver(cfg), cfg, "web", start, end, now=now)
    cal = icalendar.Calendar.from_ical(data)
    assert cal["version"] == "2.0" and cal["prodid"] == ical.PRODID
    for ev in cal.walk("VEVENT"):
        assert ev.decoded("dtstamp") == now
        assert ev["transp"] == "TRANSPARENT"
    assert data == ical.rotation_calendar(oncall.Resolver(cfg), cfg, "web", start, end, now=now)  # deterministic


@pytest.mark.parametrize(
    "ident, start",
    [
        ("both", t("2026-03-27T00:00Z")),  # names a rotation and a schedule
        ("nope", t("2026-03-27T00:00Z")),
        ("user:alice", t("2026-03-27T00:00Z")),
        ("web", datetime.datetime(2026, 3, 27)),  # naive
    ],
)
def test_bad_input_is_a_value_error(ident: str, start: datetime.datetime) -> None:
    cfg = config.parse(yaml.safe_load(CONFIG))
    with pytest.raises(ValueError):
        ical.rotation_calendar(oncall.Resolver(cfg), cfg, ident, start, t("2026-03-28T00:00Z"))
