"""iCalendar export of on-call shifts, so people see their shifts in the calendar they already use."""

from __future__ import annotations

import datetime

import icalendar

from pager import config, oncall

PRODID = "-//pager//on-call shifts//EN"


def _target(cfg: config.Config, ident: str) -> str:
    """`rotation:ID`, `schedule:ID`, or a bare ID when only one of the two has it."""
    kind, sep, bare = ident.partition(":")
    if sep:
        if kind not in ("rotation", "schedule"):
            raise ValueError(f"cannot export {ident!r}: expected rotation:ID or schedule:ID")
        return ident
    found = [f"{k}:{ident}" for k, lookup in (("rotation", cfg.rotation), ("schedule", cfg.schedule)) if lookup(ident)]
    if len(found) != 1:
        problem = "both a rotation and a schedule" if found else "no rotation or schedule"
        raise ValueError(f"{ident!r} names {problem}: say rotation:{ident} or schedule:{ident}")
    return found[0]


def rotation_calendar(
    resolver: oncall.Resolver,
    cfg: config.Config,
    rotation_or_schedule_id: str,
    start: datetime.datetime,
    end: datetime.datetime,
    user: str | None = None,
    *,
    now: datetime.datetime | None = None,
) -> bytes:
    """One VEVENT per shift overlapping [start, end), optionally only `user`'s.

    A shift's UID is made of what identifies it (target, user, start), so a
    calendar that re-fetches the feed updates events instead of duplicating
    them. DTSTAMP is `now`, or `start` when not given, so the same inputs give
    the same bytes.
    """
    target = _target(cfg, rotation_or_schedule_id)
    kind, _, ident = target.partition(":")
    stamp = oncall.as_utc(now if now is not None else start, "now")
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"On call: {ident}" + (f" ({user})" if user else ""))
    for shift in resolver.shifts(target, start, end, user=user):
        person = cfg.user(shift.user)
        event = icalendar.Event()
        event.add("uid", f"{shift.start:%Y%m%dT%H%M%SZ}-{shift.user}@{kind}.{ident}.pager")
        event.add("dtstamp", stamp)
        event.add("dtstart", shift.start)
        event.add("dtend", shift.end)
        event.add("summary", f"On call: {person.display_name if person else shift.user} ({ident})")
        event.add("transp", "TRANSPARENT")  # being on call is not being busy
        cal.add_component(event)
    return cal.to_ical()
