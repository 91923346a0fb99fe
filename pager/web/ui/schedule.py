"""The on-call picture: who is on call now and for the next four weeks, per rotation and schedule.

Pure: a function of (config, resolvers, now, zone). Each target becomes week rows of bars (one
bar per stretch with the same people), placed in percent of the row so the drawing fits any
width. A stretch differs from what the rotations alone give (the same config with its overrides
taken out) exactly where an override is in force, which is how overrides are marked.
"""

from __future__ import annotations

import dataclasses
import datetime
import typing
import zoneinfo

from pager import config, oncall

DAYS = 28
_DAY = datetime.timedelta(days=1)
WIDE_ROOM = 7.0  # percent of a desktop week row that eight letters of 12 px text need
NARROW_ROOM = 19.0  # the same on a phone's row
PALETTE = ("#cfe0fc", "#d3f0d8", "#fde2c4", "#e4d9fb", "#fbd3e4", "#cdeeee", "#ecebb8", "#e0e0e0")


@dataclasses.dataclass(frozen=True, slots=True)
class Stretch:
    start: datetime.datetime
    end: datetime.datetime
    users: tuple[str, ...]
    override: bool

    @property
    def gap(self) -> bool:
        return not self.users


@dataclasses.dataclass(frozen=True, slots=True)
class Bar:
    x: float  # percent of the week row
    width: float
    label: str  # what fits on a desktop's row
    short: str  # what fits on a phone's (390 px) row
    title: str  # the whole story, for a tooltip and the list
    fill: str
    gap: bool
    override: bool


@dataclasses.dataclass(frozen=True, slots=True)
class Tick:
    x: float
    label: str


@dataclasses.dataclass(frozen=True, slots=True)
class Week:
    label: str
    ticks: tuple[Tick, ...]
    bars: tuple[Bar, ...]
    now_x: float | None


@dataclasses.dataclass(frozen=True, slots=True)
class Handoff:
    start: str
    end: str
    who: str
    override: bool
    gap: bool


@dataclasses.dataclass(frozen=True, slots=True)
class Lane:
    kind: str  # 'rotation' or 'schedule'
    ident: str
    time_zone: str
    now: str  # who is on call now
    until: str
    weeks: tuple[Week, ...]
    handoffs: tuple[Handoff, ...]
    gaps: int
    overrides: int


def without_overrides(cfg: config.Config) -> config.Config:
    """The same rotations and schedules with no override: what the rotations alone would give."""
    return cfg.model_copy(
        update={
            "rotations": [r.model_copy(update={"overrides": []}) for r in cfg.rotations],
            "schedules": [s.model_copy(update={"overrides": []}) for s in cfg.schedules],
        }
    )


def stretches(
    target: str,
    resolver: oncall.Resolver,
    base: oncall.Resolver,
    start: datetime.datetime,
    end: datetime.datetime,
) -> list[Stretch]:
    """[start, end) cut wherever the people on call, or whether an override decides it, change."""
    edges = {start, end}
    for r in (resolver, base):
        for s in r.shifts(target, start, end):
            edges.update((s.start, s.end))
        for g in r.gaps(target, start, end):
            edges.update((g.start, g.end))
    cuts = sorted(t for t in edges if start <= t <= end)
    out: list[Stretch] = []
    for a, b in zip(cuts, cuts[1:]):
        users = resolver.users_at(target, a)
        override = users != base.users_at(target, a)
        if out and out[-1].users == users and out[-1].override == override:
            out[-1] = dataclasses.replace(out[-1], end=b)
        else:
            out.append(Stretch(a, b, users, override))
    return out


def _midnight(day: datetime.date, tz: zoneinfo.ZoneInfo) -> datetime.datetime:
    return oncall.to_utc(datetime.datetime.combine(day, datetime.time()), tz)


def _names(cfg: config.Config, users: typing.Sequence[str]) -> str:
    return ", ".join((u.display_name if (u := cfg.user(ident)) else ident) for ident in users)


def _label(cfg: config.Config, users: typing.Sequence[str], width: float, room: float) -> str:
    """The bar's text, shortened to what `width` percent of a row holds; `room`: percent that 8 letters take."""
    if users:
        full = _names(cfg, users)
        names = full.split(", ")
        candidates = (full, ", ".join(n.split()[0] for n in names), "".join(w[0] for n in names for w in n.split()))
    else:
        candidates = ("nobody on call", "nobody", "")
    return next((c for c in candidates if c and width >= room * max(len(c), 3) / 8 * 1.1), "")


def _colour(cfg: config.Config, users: typing.Sequence[str]) -> str:
    ids = [u.id for u in cfg.users]
    first = users[0]
    return PALETTE[(ids.index(first) if first in ids else len(ids)) % len(PALETTE)]


def _fmt(t: datetime.datetime, tz: zoneinfo.ZoneInfo) -> str:
    return t.astimezone(tz).strftime("%a %d %b %H:%M")


def _describe(cfg: config.Config, s: Stretch, tz: zoneinfo.ZoneInfo) -> str:
    who = "nobody on call" if s.gap else _names(cfg, s.users)
    note = " (override)" if s.override else ""
    return f"{who}{note}: {_fmt(s.start, tz)} to {_fmt(s.end, tz)}"


def lane(
    cfg: config.Config,
    target: str,
    resolver: oncall.Resolver,
    base: oncall.Resolver,
    now: datetime.datetime,
    tz: zoneinfo.ZoneInfo,
    days: int = DAYS,
) -> Lane:
    kind, _, ident = target.partition(":")
    item = cfg.rotation(ident) if kind == "rotation" else cfg.schedule(ident)
    first_day = now.astimezone(tz).date()
    starts = [_midnight(first_day + i * 7 * _DAY, tz) for i in range(-(-days // 7) + 1)]
    window = stretches(target, resolver, base, starts[0], starts[-1])
    weeks = []
    for ws, we in zip(starts, starts[1:]):
        span = (we - ws).total_seconds()

        def pct(t: datetime.datetime, ws: datetime.datetime = ws, span: float = span) -> float:
            return round(max(0.0, min(1.0, (t - ws).total_seconds() / span)) * 100, 3)

        bars = []
        for s in window:
            a, b = max(s.start, ws), min(s.end, we)
            if a >= b:
                continue
            width = round(pct(b) - pct(a), 3)
            bars.append(
                Bar(
                    x=pct(a),
                    width=width,
                    label=_label(cfg, s.users, width, WIDE_ROOM),
                    short=_label(cfg, s.users, width, NARROW_ROOM),
                    title=_describe(cfg, s, tz),
                    fill="#b42318" if s.gap else _colour(cfg, s.users),
                    gap=s.gap,
                    override=s.override,
                )
            )
        local = ws.astimezone(tz).date()
        ticks = tuple(
            Tick(pct(_midnight(local + d * _DAY, tz)), (local + d * _DAY).strftime("%a %d")) for d in range(7)
        )
        weeks.append(
            Week(
                label=f"Week of {local.strftime('%d %b')}",
                ticks=ticks,
                bars=tuple(bars),
                now_x=pct(now) if ws <= now < we else None,
            )
        )
    current = resolver.current(target, now)
    visible = [s for s in window if s.end > now]
    return Lane(
        kind=kind,
        ident=ident,
        time_zone=item.time_zone if item else "UTC",
        now=_names(cfg, current.users) or "nobody",
        until=_fmt(current.until, tz) if current.until else "",
        weeks=tuple(weeks),
        handoffs=tuple(
            Handoff(
                _fmt(max(s.start, now), tz),
                _fmt(s.end, tz),
                "nobody on call" if s.gap else _names(cfg, s.users),
                s.override,
                s.gap,
            )
            for s in visible
        ),
        gaps=sum(1 for s in visible if s.gap),
        overrides=sum(1 for s in visible if s.override),
    )


def lanes(cfg: config.Config, resolver: oncall.Resolver, now: datetime.datetime, tz: zoneinfo.ZoneInfo) -> list[Lane]:
    base = oncall.Resolver(without_overrides(cfg))
    targets = [f"rotation:{r.id}" for r in cfg.rotations] + [f"schedule:{s.id}" for s in cfg.schedules]
    return [lane(cfg, t, resolver, base, now, tz) for t in targets]
