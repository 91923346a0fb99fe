"""Who is on call: rotations, layers and overrides → the users on call at an instant.

Pure logic: every instant is an argument, nothing reads the clock. The config
gives handoffs, overrides and layer windows as local wall-clock times in the
rotation's or schedule's zone, and people expect them to stay there when the
clocks change, so local times are turned into instants one by one:

- Shifts that are whole days or weeks (`1d`, `1w`), or divide a day evenly
  (`12h`, `8h`), are counted on the local wall clock from the handoff: a 1d
  rotation handing off at 09:00 hands off at 09:00 local on both sides of a DST
  change, and a 12h one at 09:00 and 21:00, so the night shift spanning the
  change is an hour shorter or longer. Other lengths (`5h`, `36h`) run on
  elapsed time from the handoff instant, drifting against the local clock.
- A local time the clocks skip (02:30 on a spring-forward night) happens when
  they jump (03:00 new time); a local time that occurs twice is the first one.

Every target is a piecewise-constant timeline: what it says at an instant
(`at`) and the instants where that may change (`edges`). Rotations, layers
and schedules stack timelines, and shifts, gaps and `current` sweep them.
"""

from __future__ import annotations

import dataclasses
import datetime
import typing
import zoneinfo

from pager import config

UTC = datetime.UTC
HORIZON = datetime.timedelta(days=366)
"""How far `current` and `shifts` look for the previous and next change before giving up."""

_DAY = datetime.timedelta(days=1)

Users = tuple[str, ...]
_Interval = tuple[datetime.datetime, datetime.datetime]
_Segment = tuple[datetime.datetime, datetime.datetime, Users]


@dataclasses.dataclass(frozen=True, slots=True)
class OnCall:
    """Who is on call for a target; `since`/`until` are None if unchanged within HORIZON."""

    target: str
    users: Users
    since: datetime.datetime | None
    until: datetime.datetime | None


@dataclasses.dataclass(frozen=True, slots=True)
class Shift:
    user: str
    start: datetime.datetime
    end: datetime.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class Gap:
    start: datetime.datetime
    end: datetime.datetime


def to_utc(local: datetime.datetime, zone: zoneinfo.ZoneInfo) -> datetime.datetime:
    """The instant a naive wall-clock time names in `zone` (skipped → the jump, repeated → first)."""
    instant = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == local:
        return instant
    # Skipped: fold=1 reads it with the new offset (before the jump), fold=0 with the old (after).
    lo = int(local.replace(tzinfo=zone, fold=1).astimezone(UTC).timestamp())
    hi = int(instant.timestamp())
    after = instant.astimezone(zone).utcoffset()
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.datetime.fromtimestamp(mid, zone).utcoffset() == after:
            hi = mid
        else:
            lo = mid
    return datetime.datetime.fromtimestamp(hi, UTC)


def as_utc(value: datetime.datetime, name: str = "datetime") -> datetime.datetime:
    """A naive datetime would be read in whatever zone the host runs in: refuse it."""
    if not isinstance(value, datetime.datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")
    return value.astimezone(UTC)


def _window(start: datetime.datetime, end: datetime.datetime) -> tuple[datetime.datetime, datetime.datetime]:
    start, end = as_utc(start, "start"), as_utc(end, "end")
    if end < start:
        raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
    return start, end


class _Timeline(typing.Protocol):
    def at(self, t: datetime.datetime) -> Users: ...

    def edges(self, start: datetime.datetime, end: datetime.datetime) -> typing.Iterable[datetime.datetime]:
        """Instants in [start, end) where `at` may change (a superset is fine)."""
        ...


class _Fixed:
    def __init__(self, users: Users) -> None:
        self._users = users

    def at(self, t: datetime.datetime) -> Users:
        return self._users

    def edges(self, start: datetime.datetime, end: datetime.datetime) -> list[datetime.datetime]:
        return []


@dataclasses.dataclass(frozen=True, slots=True)
class _Override:
    user: str
    replaces: str | None
    start: datetime.datetime
    end: datetime.datetime


class _Overrides:
    """Overrides applied in file order, so a later one wins where they overlap."""

    def __init__(self, overrides: typing.Sequence[config.Override], zone: zoneinfo.ZoneInfo) -> None:
        self._items = [_Override(o.user, o.replaces, to_utc(o.start, zone), to_utc(o.end, zone)) for o in overrides]

    def apply(self, t: datetime.datetime, users: Users) -> Users:
        for o in self._items:
            if not o.start <= t < o.end:
                continue
            if o.replaces is None:
                users = (o.user,)
            elif o.replaces in users:
                users = tuple(dict.fromkeys(o.user if u == o.replaces else u for u in users))
        return users

    def edges(self, start: datetime.datetime, end: datetime.datetime) -> list[datetime.datetime]:
        return [t for o in self._items for t in (o.start, o.end) if start <= t < end]


class _Rotation:
    def __init__(self, rotation: config.Rotation) -> None:
        self._zone = zoneinfo.ZoneInfo(rotation.time_zone)
        self._members = tuple(rotation.members)
        self._shift = rotation.shift
        self._anchor = rotation.handoff
        self._anchor_utc = to_utc(rotation.handoff, self._zone)
        self._wall_clock = not rotation.shift % _DAY or not _DAY % rotation.shift
        self._overrides = _Overrides(rotation.overrides, self._zone)

    def _handoff(self, k: int) -> datetime.datetime:
        """Start of shift k (shift 0 starts at the anchor; negative k runs backwards)."""
        if self._wall_clock:
            return to_utc(self._anchor + k * self._shift, self._zone)
        return self._anchor_utc + k * self._shift

    def _shift_index(self, t: datetime.datetime) -> int:
        if self._wall_clock:
            k = (t.astimezone(self._zone).replace(tzinfo=None) - self._anchor) // self._shift
        else:
            k = (t - self._anchor_utc) // self._shift
        while self._handoff(k + 1) <= t:  # also steps over shifts a DST jump squeezed to nothing
            k += 1
        while self._handoff(k) > t:
            k -= 1
        return k

    def at(self, t: datetime.datetime) -> Users:
        users: Users = ()
        if self._members:
            users = (self._members[self._shift_index(t) % len(self._members)],)
        return self._overrides.apply(t, users)

    def edges(self, start: datetime.datetime, end: datetime.datetime) -> list[datetime.datetime]:
        out = self._overrides.edges(start, end)
        if len(self._members) > 1:
            k = self._shift_index(start)
            while (t := self._handoff(k)) < end:
                if t >= start:
                    out.append(t)
                k += 1
        return out


class _Layer:
    """A rotation seen through its active windows, in the schedule's zone."""

    def __init__(self, rotation: _Rotation, windows: typing.Sequence[config.ActiveWindow], zone: zoneinfo.ZoneInfo):
        self._rotation = rotation
        self._windows = tuple(windows)
        self._zone = zone

    def _intervals(self, start: datetime.datetime, end: datetime.datetime) -> list[_Interval]:
        """Active intervals touching [start, end]; a window belongs to the day it opens on."""
        day = start.astimezone(self._zone).date() - _DAY
        last = end.astimezone(self._zone).date()
        out = []
        while day <= last:
            for w in self._windows:
                if day.weekday() not in w.days:
                    continue
                opens = datetime.datetime.combine(day, w.start)
                closes = datetime.datetime.combine(day + _DAY if w.end <= w.start else day, w.end)
                out.append((to_utc(opens, self._zone), to_utc(closes, self._zone)))
            day += _DAY
        return out

    def active(self, t: datetime.datetime) -> bool:
        return not self._windows or any(a <= t < b for a, b in self._intervals(t, t))

    def at(self, t: datetime.datetime) -> Users:
        return self._rotation.at(t) if self.active(t) else ()

    def edges(self, start: datetime.datetime, end: datetime.datetime) -> list[datetime.datetime]:
        out = self._rotation.edges(start, end)
        if self._windows:
            out.extend(t for pair in self._intervals(start, end) for t in pair if start <= t < end)
        return out


class _Schedule:
    def __init__(self, layers: typing.Sequence[_Layer], overrides: _Overrides) -> None:
        self._layers = tuple(reversed(layers))
        self._overrides = overrides

    def at(self, t: datetime.datetime) -> Users:
        users: Users = ()
        for layer in self._layers:
            if users := layer.at(t):
                break
        return self._overrides.apply(t, users)

    def edges(self, start: datetime.datetime, end: datetime.datetime) -> list[datetime.datetime]:
        out = self._overrides.edges(start, end)
        for layer in self._layers:
            out.extend(layer.edges(start, end))
        return out


def _segments(timeline: _Timeline, start: datetime.datetime, end: datetime.datetime) -> list[_Segment]:
    """[start, end) cut where the users change; neighbours always differ."""
    cuts = sorted({t for t in timeline.edges(start, end) if start < t < end})
    out: list[_Segment] = []
    for a, b in zip([start, *cuts], [*cuts, end]):
        users = timeline.at(a)
        if out and out[-1][2] == users:
            out[-1] = (out[-1][0], b, users)
        elif a < b:
            out.append((a, b, users))
    return out


def _spans() -> typing.Iterator[datetime.timedelta]:
    """Growing look-around windows: most changes are near, so search near first."""
    span = _DAY
    while span < HORIZON:
        yield span
        span *= 4
    yield HORIZON


def _since(timeline: _Timeline, t: datetime.datetime) -> datetime.datetime | None:
    users = timeline.at(t)
    for span in _spans():
        segments = _segments(timeline, t - span, t)
        if segments[-1][2] != users:
            return t
        if len(segments) > 1:
            return segments[-1][0]
    return None


def _until(timeline: _Timeline, t: datetime.datetime) -> datetime.datetime | None:
    for span in _spans():
        segments = _segments(timeline, t, t + span)
        if len(segments) > 1:
            return segments[0][1]
    return None


class Resolver:
    """Answers who is on call for `user:ID`, `rotation:ID` and `schedule:ID` targets."""

    def __init__(self, cfg: config.Config) -> None:
        rotations = {r.id: _Rotation(r) for r in cfg.rotations}
        self._timelines: dict[str, _Timeline] = {f"rotation:{ident}": r for ident, r in rotations.items()}
        for s in cfg.schedules:
            zone = zoneinfo.ZoneInfo(s.time_zone)
            layers = [_Layer(rotations[layer.rotation], layer.active, zone) for layer in s.layers]
            self._timelines[f"schedule:{s.id}"] = _Schedule(layers, _Overrides(s.overrides, zone))

    def _timeline(self, target: str) -> _Timeline:
        kind, _, ident = target.partition(":")
        if kind == "user" and ident:
            return _Fixed((ident,))
        try:
            return self._timelines[target]
        except KeyError:
            raise ValueError(
                f"unknown target {target!r}: expected user:ID or a configured rotation:ID or schedule:ID"
            ) from None

    def users_at(self, target: str, at: datetime.datetime) -> Users:
        return self._timeline(target).at(as_utc(at, "at"))

    def current(self, target: str, at: datetime.datetime) -> OnCall:
        timeline, at = self._timeline(target), as_utc(at, "at")
        return OnCall(target, timeline.at(at), _since(timeline, at), _until(timeline, at))

    def shifts(
        self, target: str, start: datetime.datetime, end: datetime.datetime, user: str | None = None
    ) -> list[Shift]:
        """Shifts overlapping [start, end), whole: the first and last run to their real handoffs.

        Calendars need that so an event keeps its start (and its UID) as the window moves.
        """
        timeline = self._timeline(target)
        start, end = _window(start, end)
        if start == end:
            return []
        segments = _segments(timeline, start, end)
        first = _since(timeline, start) or start
        last = (_until(timeline, end) or end) if segments[-1][2] == timeline.at(end) else end
        if (first, last) != (start, end):
            segments = _segments(timeline, first, last)
        open_: dict[str, datetime.datetime] = {}
        out: list[Shift] = []
        for a, _b, users in segments:
            for u in [u for u in open_ if u not in users]:
                out.append(Shift(u, open_.pop(u), a))
            for u in users:
                open_.setdefault(u, a)
        out.extend(Shift(u, a, last) for u, a in open_.items())
        return sorted((s for s in out if user is None or s.user == user), key=lambda s: (s.start, s.user))

    def gaps(self, target: str, start: datetime.datetime, end: datetime.datetime) -> list[Gap]:
        """Stretches of [start, end) with nobody on call."""
        start, end = _window(start, end)
        return [Gap(a, b) for a, b, users in _segments(self._timeline(target), start, end) if not users]


def for_user(shifts: typing.Iterable[Shift], user: str) -> list[Shift]:
    return [s for s in shifts if s.user == user]


def find_gaps(
    cfg: config.Config,
    start: datetime.datetime,
    end: datetime.datetime,
    resolver: Resolver | None = None,
    limit: int = 5,
) -> list[str]:
    """Warnings for stretches with nobody on call in each rotation or schedule a policy pages.

    Times are in the rotation's or schedule's own zone, as its author wrote them.
    At most `limit` gaps per target are spelled out; the rest are counted.
    """
    resolver = resolver or Resolver(cfg)
    used = {t for p in cfg.escalation_policies for step in p.steps for t in step.targets}
    warnings = []
    sections: tuple[tuple[str, typing.Sequence[config.Rotation | config.Schedule]], ...] = (
        ("rotations", cfg.rotations),
        ("schedules", cfg.schedules),
    )
    for section, items in sections:
        for i, item in enumerate(items):
            target = f"{section[:-1]}:{item.id}"
            if target not in used:
                continue
            zone = zoneinfo.ZoneInfo(item.time_zone)
            where = f"{section}[{i}] ({item.id})"
            why = "; the rotation has no members" if isinstance(item, config.Rotation) and not item.members else ""
            gaps = resolver.gaps(target, start, end)
            for gap in gaps[:limit]:
                a = gap.start.astimezone(zone).strftime("%Y-%m-%d %H:%M")
                b = gap.end.astimezone(zone).strftime("%Y-%m-%d %H:%M")
                warnings.append(f"{where}: nobody on call {a} to {b} ({item.time_zone}){why}")
            if len(gaps) > limit:
                more, rest = len(gaps) - limit, sum((g.end - g.start for g in gaps[limit:]), datetime.timedelta())
                hours = rest / datetime.timedelta(hours=1)
                warnings.append(f"{where}: and {more} more gap{'s' if more > 1 else ''}, {hours:g} hours in all")
    return warnings
