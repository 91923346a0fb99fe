"""Who is on call, over HTTP: the JSON answer and the calendar feed."""

from __future__ import annotations

import datetime

import icalendar
import pytest

from tests import support

SCHEDULE = """
users:
  - {id: alice, name: Alice, phone: "+15551230001"}
  - {id: bob, name: Bob, phone: "+15551230002"}
  - {id: carol, name: Carol, phone: "+15551230003"}
rotations:
  - {id: primary, time_zone: Europe/Berlin, shift: 1d, handoff: "2026-03-27T09:00", members: [alice, bob]}
  - {id: empty}
"""


@pytest.mark.parametrize(
    ("at", "user", "since", "until"),
    [
        # the day before Berlin springs forward: handoffs at 09:00 CET = 08:00 UTC
        ("2026-03-28T07:59:00Z", "alice", "2026-03-27T08:00:00Z", "2026-03-28T08:00:00Z"),
        ("2026-03-28T08:00:00Z", "bob", "2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z"),
        # after the change the 09:00 handoff is 07:00 UTC
        ("2026-03-29T07:00:00Z", "alice", "2026-03-29T07:00:00Z", "2026-03-30T07:00:00Z"),
    ],
)
async def test_oncall_at_an_instant(make_client, at, user, since, until):
    client = await make_client(support.settings(SCHEDULE))
    resp = await client.get("/api/v1/oncall", params={"at": at, "rotation": "primary"}, headers=support.API)
    assert resp.status == 200
    [entry] = (await resp.json())["oncall"]
    assert entry["target"] == "rotation:primary"
    assert [u["id"] for u in entry["users"]] == [user]
    assert (entry["since"], entry["until"]) == (since, until)


async def test_oncall_lists_every_rotation_and_shows_gaps(make_client):
    client = await make_client(support.settings(SCHEDULE))
    resp = await client.get("/api/v1/oncall", params={"at": "2026-11-23T12:00:00Z"}, headers=support.API)
    body = await resp.json()
    by_target = {e["target"]: e["users"] for e in body["oncall"]}
    assert by_target["rotation:empty"] == []
    assert len(by_target["rotation:primary"]) == 1


@pytest.mark.parametrize(
    ("params", "status"),
    [({"at": "yesterday"}, 400), ({"at": "2026-11-23T12:00:00"}, 400), ({"rotation": "nope"}, 404)],
)
async def test_oncall_bad_input(make_client, params, status):
    client = await make_client(support.settings(SCHEDULE))
    resp = await client.get("/api/v1/oncall", params=params, headers=support.API)
    assert resp.status == status


async def test_rotation_calendar_for_one_user(make_client):
    client = await make_client(support.settings(SCHEDULE))
    resp = await client.get(
        "/api/v1/rotations/primary.ics",
        params={
            "from": "2026-03-27T08:00:00Z",
            "to": "2026-03-31T07:00:00Z",
            "user": "alice",
            "token": support.API_TOKEN,
        },
    )
    assert resp.status == 200
    assert resp.content_type == "text/calendar"
    cal = icalendar.Calendar.from_ical(await resp.read())
    starts = sorted(e.decoded("dtstart").astimezone(datetime.UTC) for e in cal.walk("VEVENT"))
    assert starts == [
        datetime.datetime(2026, 3, 27, 8, tzinfo=datetime.UTC),
        datetime.datetime(2026, 3, 29, 7, tzinfo=datetime.UTC),
    ]
    assert (await client.get("/api/v1/rotations/primary.ics")).status == 401
    assert (await client.get("/api/v1/rotations/nope.ics", headers=support.API)).status == 404
