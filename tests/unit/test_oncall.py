"""Who is on call: handoffs, DST, overrides, layers, gaps — each case a small inline config."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
import yaml

from pager import config, oncall

USERS = "users: [{id: alice}, {id: bob}, {id: carol}, {id: dave}]\n"


def resolver(text: str) -> oncall.Resolver:
    return oncall.Resolver(config.parse(yaml.safe_load(USERS + text)))


def t(text: str) -> datetime.datetime:
    """An instant written with its offset, e.g. 2026-03-29T09:00+02:00 (Z for UTC)."""
    return datetime.datetime.fromisoformat(text)


def show(shifts: list[oncall.Shift], zone: str) -> list[str]:
    z = zoneinfo.ZoneInfo(zone)
    return [f"{s.user} {s.start.astimezone(z):%Y-%m-%dT%H:%M%z} {s.end.astimezone(z):%Y-%m-%dT%H:%M%z}" for s in shifts]


WEEKLY = """
rotations:
  - {id: web, shift: 1w, handoff: "2026-01-05T09:00", members: [alice, bob, carol]}
"""
DAILY_BERLIN = """
rotations:
  - {id: web, time_zone: Europe/Berlin, shift: 1d, handoff: "2026-03-20T09:00", members: [alice, bob]}
"""
ELAPSED_36H = """
rotations:
  - {id: web, time_zone: Europe/Berlin, shift: 36h, handoff: "2026-03-28T09:00", members: [alice, bob]}
"""
EMPTY = """
rotations:
  - {id: web, members: []}
"""
OVERRIDES = """
rotations:
  - id: web
    shift: 1d
    handoff: "2026-01-05T09:00"
    members: [alice, bob]
    overrides:
      - {user: carol, start: "2026-01-05T20:00", end: "2026-01-06T12:00"}
      - {user: dave, replaces: bob, start: "2026-01-07T00:00", end: "2026-01-10T00:00"}
"""
OVERRIDE_BERLIN = """
rotations:
  - id: web
    time_zone: Europe/Berlin
    members: [alice]
    overrides: [{user: carol, start: "2026-03-29T08:00", end: "2026-03-29T10:00"}]
"""
OVERRIDE_EMPTY = """
rotations:
  - id: web
    members: []
    overrides:
      - {user: carol, start: "2026-01-05T00:00", end: "2026-01-06T00:00"}
      - {user: dave, replaces: alice, start: "2026-01-05T00:00", end: "2026-01-07T00:00"}
"""
LAYERS = """
rotations:
  - {id: base, time_zone: America/New_York, shift: 1w, handoff: "2026-03-02T09:00", members: [alice, bob]}
  - {id: office, members: [carol]}
  - {id: weekend, members: [dave]}
  - {id: nobody, members: []}
schedules:
  - id: web
    time_zone: America/New_York
    layers:
      - {rotation: base}
      - rotation: office
        active: [{days: mon-fri, from: "09:00", to: "17:00"}]
      - rotation: weekend
        active: [{days: fri, from: "18:00", to: "06:00"}]
      - rotation: nobody
    overrides:
      - {user: alice, replaces: dave, start: "2026-03-20T20:00", end: "2026-03-20T22:00"}
"""


@pytest.mark.parametrize(
    "cfg, target, at, users",
    [
        # weekly handoffs at 09:00 UTC on Mondays, members in order, wrapping round
        (WEEKLY, "rotation:web", "2026-01-05T09:00Z", ("alice",)),
        (WEEKLY, "rotation:web", "2026-01-12T08:59Z", ("alice",)),
        (WEEKLY, "rotation:web", "2026-01-12T09:00Z", ("bob",)),
        (WEEKLY, "rotation:web", "2026-01-19T10:00+01:00", ("carol",)),
        (WEEKLY, "rotation:web", "2026-01-26T09:00Z", ("alice",)),
        # before the anchor the cycle runs backwards
        (WEEKLY, "rotation:web", "2026-01-05T08:59Z", ("carol",)),
        (WEEKLY, "rotation:web", "2025-12-29T08:59Z", ("bob",)),
        (WEEKLY, "rotation:web", "2025-06-02T09:00Z", ("carol",)),  # 31 weeks back
        # daily, in Berlin, across spring-forward (2026-03-29): 09:00 CET then 09:00 CEST
        (DAILY_BERLIN, "rotation:web", "2026-03-28T08:59+01:00", ("bob",)),
        (DAILY_BERLIN, "rotation:web", "2026-03-28T09:00+01:00", ("alice",)),
        (DAILY_BERLIN, "rotation:web", "2026-03-29T08:59+02:00", ("alice",)),
        (DAILY_BERLIN, "rotation:web", "2026-03-29T09:00+02:00", ("bob",)),
        (DAILY_BERLIN, "rotation:web", "2026-03-19T09:00+01:00", ("bob",)),
        # 36h does not divide a day: elapsed time, so the next handoff is 22:00 CEST, not 21:00
        (ELAPSED_36H, "rotation:web", "2026-03-29T21:59+02:00", ("alice",)),
        (ELAPSED_36H, "rotation:web", "2026-03-29T22:00+02:00", ("bob",)),
        (EMPTY, "rotation:web", "2026-01-05T09:00Z", ()),
        (EMPTY, "user:erin", "2026-01-05T09:00Z", ("erin",)),
        # an override crossing the 2026-01-06 09:00 handoff
        (OVERRIDES, "rotation:web", "2026-01-05T19:59Z", ("alice",)),
        (OVERRIDES, "rotation:web", "2026-01-05T20:00Z", ("carol",)),
        (OVERRIDES, "rotation:web", "2026-01-06T09:30Z", ("carol",)),
        (OVERRIDES, "rotation:web", "2026-01-06T12:00Z", ("bob",)),
        # `replaces: bob` covers bob's days only
        (OVERRIDES, "rotation:web", "2026-01-07T10:00Z", ("alice",)),
        (OVERRIDES, "rotation:web", "2026-01-08T10:00Z", ("dave",)),
        (OVERRIDES, "rotation:web", "2026-01-10T10:00Z", ("bob",)),
        # override times are local to the rotation: 08:00–10:00 CEST is 06:00–08:00 UTC
        (OVERRIDE_BERLIN, "rotation:web", "2026-03-29T05:59Z", ("alice",)),
        (OVERRIDE_BERLIN, "rotation:web", "2026-03-29T06:00Z", ("carol",)),
        (OVERRIDE_BERLIN, "rotation:web", "2026-03-29T08:00Z", ("alice",)),
        # an empty rotation: a whole override covers it, a `replaces` has nobody to replace
        (OVERRIDE_EMPTY, "rotation:web", "2026-01-05T12:00Z", ("carol",)),
        (OVERRIDE_EMPTY, "rotation:web", "2026-01-06T12:00Z", ()),
        # layers: office hours beat the base layer, Friday night's window beats both
        (LAYERS, "schedule:web", "2026-03-09T08:59-04:00", ("alice",)),  # Monday, just after DST began
        (LAYERS, "schedule:web", "2026-03-09T09:00-04:00", ("carol",)),
        (LAYERS, "schedule:web", "2026-03-09T16:59-04:00", ("carol",)),
        (LAYERS, "schedule:web", "2026-03-09T17:00-04:00", ("bob",)),
        (LAYERS, "schedule:web", "2026-03-07T10:00-05:00", ("alice",)),  # Saturday: base only
        (LAYERS, "schedule:web", "2026-03-13T17:59-04:00", ("bob",)),  # Friday between windows
        (LAYERS, "schedule:web", "2026-03-13T18:00-04:00", ("dave",)),
        (LAYERS, "schedule:web", "2026-03-14T05:59-04:00", ("dave",)),  # overnight into Saturday
        (LAYERS, "schedule:web", "2026-03-14T06:00-04:00", ("bob",)),
        (LAYERS, "schedule:web", "2026-03-16T12:00-04:00", ("carol",)),
        # the schedule's `replaces` override applies to whoever the layers chose
        (LAYERS, "schedule:web", "2026-03-20T20:30-04:00", ("alice",)),
        (LAYERS, "schedule:web", "2026-03-20T22:30-04:00", ("dave",)),
    ],
)
def test_users_at(cfg: str, target: str, at: str, users: tuple[str, ...]) -> None:
    assert resolver(cfg).users_at(target, t(at)) == users


@pytest.mark.parametrize(
    "zone, shift, handoff, start, end, expected",
    [
        (  # Berlin spring-forward: the shift across it is 23h
            "Europe/Berlin",
            "1d",
            "2026-03-20T09:00",
            "2026-03-28T12:00Z",
            "2026-03-30T12:00Z",
            [
                "alice 2026-03-28T09:00+0100 2026-03-29T09:00+0200",
                "bob 2026-03-29T09:00+0200 2026-03-30T09:00+0200",
                "alice 2026-03-30T09:00+0200 2026-03-31T09:00+0200",
            ],
        ),
        (  # Berlin fall-back: 25h
            "Europe/Berlin",
            "1d",
            "2026-10-01T09:00",
            "2026-10-24T12:00Z",
            "2026-10-25T12:00Z",
            [
                "bob 2026-10-24T09:00+0200 2026-10-25T09:00+0100",
                "alice 2026-10-25T09:00+0100 2026-10-26T09:00+0100",
            ],
        ),
        (  # New York spring-forward
            "America/New_York",
            "1d",
            "2026-03-01T09:00",
            "2026-03-07T15:00Z",
            "2026-03-08T15:00Z",
            [
                "alice 2026-03-07T09:00-0500 2026-03-08T09:00-0400",
                "bob 2026-03-08T09:00-0400 2026-03-09T09:00-0400",
            ],
        ),
        (  # New York fall-back
            "America/New_York",
            "1d",
            "2026-10-01T09:00",
            "2026-10-31T14:00Z",
            "2026-11-01T15:00Z",
            [
                "alice 2026-10-31T09:00-0400 2026-11-01T09:00-0500",
                "bob 2026-11-01T09:00-0500 2026-11-02T09:00-0500",
            ],
        ),
        (  # weekly across New York's spring-forward: 167h, still Monday 09:00
            "America/New_York",
            "1w",
            "2026-03-02T09:00",
            "2026-03-02T15:00Z",
            "2026-03-09T14:00Z",
            [
                "alice 2026-03-02T09:00-0500 2026-03-09T09:00-0400",
                "bob 2026-03-09T09:00-0400 2026-03-16T09:00-0400",
            ],
        ),
        (  # 12h across Berlin spring-forward: 09:00/21:00 local, the night shift 11h
            "Europe/Berlin",
            "12h",
            "2026-03-20T09:00",
            "2026-03-28T21:00Z",
            "2026-03-29T20:00Z",
            [
                "bob 2026-03-28T21:00+0100 2026-03-29T09:00+0200",
                "alice 2026-03-29T09:00+0200 2026-03-29T21:00+0200",
                "bob 2026-03-29T21:00+0200 2026-03-30T09:00+0200",
            ],
        ),
        (  # 12h across New York fall-back: the night shift 13h
            "America/New_York",
            "12h",
            "2026-10-01T09:00",
            "2026-11-01T02:00Z",
            "2026-11-01T15:00Z",
            [
                "bob 2026-10-31T21:00-0400 2026-11-01T09:00-0500",
                "alice 2026-11-01T09:00-0500 2026-11-01T21:00-0500",
            ],
        ),
        (  # eight months before the anchor, in the other offset, still 09:00
            "America/New_York",
            "1d",
            "2026-11-02T09:00",
            "2026-03-08T12:00Z",
            "2026-03-08T14:00Z",
            [
                "alice 2026-03-07T09:00-0500 2026-03-08T09:00-0400",
                "bob 2026-03-08T09:00-0400 2026-03-09T09:00-0400",
            ],
        ),
        (  # 02:30 does not exist on 2026-03-29 in Berlin: that handoff happens at the jump, 03:00
            "Europe/Berlin",
            "1d",
            "2026-03-20T02:30",
            "2026-03-28T12:00Z",
            "2026-03-29T12:00Z",
            [
                "alice 2026-03-28T02:30+0100 2026-03-29T03:00+0200",
                "bob 2026-03-29T03:00+0200 2026-03-30T02:30+0200",
            ],
        ),
        (  # 02:30 happens twice on 2026-10-25 in Berlin: the first one
            "Europe/Berlin",
            "1d",
            "2026-10-01T02:30",
            "2026-10-24T12:00Z",
            "2026-10-25T12:00Z",
            [
                "bob 2026-10-24T02:30+0200 2026-10-25T02:30+0200",
                "alice 2026-10-25T02:30+0200 2026-10-26T02:30+0100",
            ],
        ),
    ],
)
def test_handoffs_keep_local_time(
    zone: str, shift: str, handoff: str, start: str, end: str, expected: list[str]
) -> None:
    r = resolver(f"""
rotations:
  - {{id: web, time_zone: {zone}, shift: {shift}, handoff: "{handoff}", members: [alice, bob]}}
""")
    assert show(r.shifts("rotation:web", t(start), t(end)), zone) == expected


@pytest.mark.parametrize(
    "cfg, target, start, end, user, expected",
    [
        (  # the override crossing the handoff splits alice's and bob's days
            OVERRIDES,
            "rotation:web",
            "2026-01-05T10:00Z",
            "2026-01-07T10:00Z",
            None,
            [
                "alice 2026-01-05T09:00+0000 2026-01-05T20:00+0000",
                "carol 2026-01-05T20:00+0000 2026-01-06T12:00+0000",
                "bob 2026-01-06T12:00+0000 2026-01-07T00:00+0000",
                "dave 2026-01-07T00:00+0000 2026-01-07T09:00+0000",
                "alice 2026-01-07T09:00+0000 2026-01-08T09:00+0000",
            ],
        ),
        (  # dave replaces bob up to 2026-01-10 00:00; alice's day between stays hers
            OVERRIDES,
            "rotation:web",
            "2026-01-08T10:00Z",
            "2026-01-11T10:00Z",
            None,
            [
                "dave 2026-01-08T09:00+0000 2026-01-09T09:00+0000",
                "alice 2026-01-09T09:00+0000 2026-01-10T09:00+0000",
                "bob 2026-01-10T09:00+0000 2026-01-11T09:00+0000",
                "alice 2026-01-11T09:00+0000 2026-01-12T09:00+0000",
            ],
        ),
        (  # one member: one shift, clipped to the window as nothing changes within the horizon
            OVERRIDE_BERLIN,
            "rotation:web",
            "2026-03-29T00:00Z",
            "2026-03-30T00:00Z",
            None,
            [
                "alice 2026-03-29T00:00+0000 2026-03-29T06:00+0000",
                "carol 2026-03-29T06:00+0000 2026-03-29T08:00+0000",
                "alice 2026-03-29T08:00+0000 2026-03-30T00:00+0000",
            ],
        ),
        (  # just bob's shifts
            WEEKLY,
            "rotation:web",
            "2026-01-01T00:00Z",
            "2026-02-01T00:00Z",
            "bob",
            ["bob 2026-01-12T09:00+0000 2026-01-19T09:00+0000"],
        ),
        (  # a schedule's shifts follow its layers
            LAYERS,
            "schedule:web",
            "2026-03-13T12:00-04:00",
            "2026-03-14T12:00-04:00",
            None,
            [
                "carol 2026-03-13T13:00+0000 2026-03-13T21:00+0000",
                "bob 2026-03-13T21:00+0000 2026-03-13T22:00+0000",
                "dave 2026-03-13T22:00+0000 2026-03-14T10:00+0000",
                "bob 2026-03-14T10:00+0000 2026-03-16T13:00+0000",
            ],
        ),
        (EMPTY, "rotation:web", "2026-01-01T00:00Z", "2026-02-01T00:00Z", None, []),
        (
            WEEKLY,
            "user:erin",
            "2026-01-01T00:00Z",
            "2026-01-02T00:00Z",
            None,
            [
                "erin 2026-01-01T00:00+0000 2026-01-02T00:00+0000",
            ],
        ),
    ],
)
def test_shifts(cfg: str, target: str, start: str, end: str, user: str | None, expected: list[str]) -> None:
    r = resolver(cfg)
    shifts = r.shifts(target, t(start), t(end), user=user)
    assert show(shifts, "UTC") == expected
    if user is None:
        for name in {s.user for s in shifts}:
            assert oncall.for_user(shifts, name) == r.shifts(target, t(start), t(end), user=name)


@pytest.mark.parametrize(
    "cfg, target, at, users, since, until",
    [
        (WEEKLY, "rotation:web", "2026-01-14T00:00Z", ("bob",), "2026-01-12T09:00Z", "2026-01-19T09:00Z"),
        (WEEKLY, "rotation:web", "2026-01-12T09:00Z", ("bob",), "2026-01-12T09:00Z", "2026-01-19T09:00Z"),
        (OVERRIDES, "rotation:web", "2026-01-06T10:00Z", ("carol",), "2026-01-05T20:00Z", "2026-01-06T12:00Z"),
        (LAYERS, "schedule:web", "2026-03-13T12:00-04:00", ("carol",), "2026-03-13T13:00Z", "2026-03-13T21:00Z"),
        (LAYERS, "schedule:web", "2026-03-14T12:00-04:00", ("bob",), "2026-03-14T10:00Z", "2026-03-16T13:00Z"),
        # nothing ever changes: no since, no until
        (EMPTY, "rotation:web", "2026-01-05T09:00Z", (), None, None),
        (EMPTY, "user:erin", "2026-01-05T09:00Z", ("erin",), None, None),
        # the one change is further away than the horizon
        (OVERRIDE_BERLIN, "rotation:web", "2025-01-01T00:00Z", ("alice",), None, None),
        (OVERRIDE_BERLIN, "rotation:web", "2026-03-29T07:00Z", ("carol",), "2026-03-29T06:00Z", "2026-03-29T08:00Z"),
    ],
)
def test_current(cfg: str, target: str, at: str, users: tuple[str, ...], since: str | None, until: str | None) -> None:
    got = resolver(cfg).current(target, t(at))
    assert got == oncall.OnCall(target, users, since and t(since), until and t(until))


BUSINESS_HOURS = """
rotations:
  - {id: day, time_zone: Europe/Berlin, members: [bob, carol]}
schedules:
  - id: office
    time_zone: Europe/Berlin
    layers: [{rotation: day, active: [{days: mon-fri, from: "09:00", to: "17:00"}]}]
"""


@pytest.mark.parametrize(
    "cfg, target, start, end, gaps",
    [
        (EMPTY, "rotation:web", "2026-01-01T00:00Z", "2026-01-02T00:00Z", [("2026-01-01T00:00Z", "2026-01-02T00:00Z")]),
        (WEEKLY, "rotation:web", "2026-01-01T00:00Z", "2026-02-01T00:00Z", []),
        (
            OVERRIDE_EMPTY,
            "rotation:web",
            "2026-01-04T00:00Z",
            "2026-01-08T00:00Z",
            [
                ("2026-01-04T00:00Z", "2026-01-05T00:00Z"),
                ("2026-01-06T00:00Z", "2026-01-08T00:00Z"),
            ],
        ),
        (
            BUSINESS_HOURS,
            "schedule:office",
            "2026-11-27T00:00+01:00",
            "2026-12-01T00:00+01:00",
            [
                ("2026-11-27T00:00+01:00", "2026-11-27T09:00+01:00"),
                ("2026-11-27T17:00+01:00", "2026-11-30T09:00+01:00"),
                ("2026-11-30T17:00+01:00", "2026-12-01T00:00+01:00"),
            ],
        ),
        (LAYERS, "schedule:web", "2026-03-01T00:00Z", "2026-04-01T00:00Z", []),  # the base layer covers
    ],
)
def test_gaps(cfg: str, target: str, start: str, end: str, gaps: list[tuple[str, str]]) -> None:
    got = resolver(cfg).gaps(target, t(start), t(end))
    assert got == [oncall.Gap(t(a), t(b)) for a, b in gaps]


GAPPY = (
    USERS
    + """
rotations:
  - {id: web-primary, members: [alice, bob]}
  - id: web-secondary
    members: []
    overrides: [{user: carol, start: "2026-11-27T00:00", end: "2026-11-28T00:00"}]
  - {id: day, time_zone: Europe/Berlin, members: [bob, carol]}
  - {id: unused, members: []}
schedules:
  - id: office
    time_zone: Europe/Berlin
    layers: [{rotation: day, active: [{days: mon-fri, from: "09:00", to: "17:00"}]}]
escalation_policies:
  - id: web
    steps:
      - {targets: ["rotation:web-primary"]}
      - {targets: ["rotation:web-secondary", "user:alice"]}
      - {targets: ["schedule:office"]}
"""
)


@pytest.mark.parametrize(
    "start, end, limit, warnings",
    [
        (
            "2026-11-27T00:00Z",
            "2026-11-30T00:00Z",
            5,
            [
                (
                    "rotations[1] (web-secondary): nobody on call 2026-11-28 00:00 to 2026-11-30 00:00 (UTC);"
                    " the rotation has no members"
                ),
                "schedules[0] (office): nobody on call 2026-11-27 01:00 to 2026-11-27 09:00 (Europe/Berlin)",
                "schedules[0] (office): nobody on call 2026-11-27 17:00 to 2026-11-30 01:00 (Europe/Berlin)",
            ],
        ),
        (  # a fortnight of nights: the first few spelled out, the rest counted
            "2026-11-30T08:00Z",
            "2026-12-14T08:00Z",
            2,
            [
                (
                    "rotations[1] (web-secondary): nobody on call 2026-11-30 08:00 to 2026-12-14 08:00 (UTC);"
                    " the rotation has no members"
                ),
                "schedules[0] (office): nobody on call 2026-11-30 17:00 to 2026-12-01 09:00 (Europe/Berlin)",
                "schedules[0] (office): nobody on call 2026-12-01 17:00 to 2026-12-02 09:00 (Europe/Berlin)",
                "schedules[0] (office): and 8 more gaps, 224 hours in all",
            ],
        ),
    ],
)
def test_find_gaps(start: str, end: str, limit: int, warnings: list[str]) -> None:
    assert oncall.find_gaps(config.parse(yaml.safe_load(GAPPY)), t(start), t(end), limit=limit) == warnings


NAIVE = datetime.datetime(2026, 1, 5, 9, 0)
AWARE = datetime.datetime(2026, 1, 5, 9, 0, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    "call",
    [
        lambda r: r.users_at("rotation:web", NAIVE),
        lambda r: r.current("rotation:web", NAIVE),
        lambda r: r.shifts("rotation:web", NAIVE, AWARE),
        lambda r: r.gaps("rotation:web", AWARE, NAIVE),
        lambda r: r.shifts("rotation:web", AWARE, AWARE - datetime.timedelta(days=1)),  # end before start
        lambda r: r.users_at("rotation:nope", AWARE),
        lambda r: r.users_at("schedule:web", AWARE),
        lambda r: r.users_at("team:web", AWARE),
    ],
)
def test_bad_input_is_a_value_error(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        call(resolver(WEEKLY))


def test_any_zone_in_utc_out() -> None:
    r = resolver(WEEKLY)
    tokyo = datetime.datetime(2026, 1, 12, 18, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Tokyo"))  # 09:00 UTC
    now = r.current("rotation:web", tokyo)
    assert now.users == ("bob",)
    assert now.since == t("2026-01-12T09:00Z") and now.since.tzinfo is datetime.UTC
