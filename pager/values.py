"""The values a configuration file holds, each validated where it is read: durations, zones, phones, ids.

Shared by `pager.config` (the file's sections) and `pager.channels` (each
channel's own settings), so a channel can declare its settings without the
config module knowing it.
"""

from __future__ import annotations

import datetime
import re
import typing
import zoneinfo

import jsonpath_ng.exceptions
import jsonpath_ng.ext
import pydantic

from pager import matchers, models

TARGET_KINDS = ("user", "rotation", "schedule")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

MAX_SHIFT = datetime.timedelta(weeks=52)

_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w)")
_DURATION_UNITS = {
    "ms": datetime.timedelta(milliseconds=1),
    "s": datetime.timedelta(seconds=1),
    "m": datetime.timedelta(minutes=1),
    "h": datetime.timedelta(hours=1),
    "d": datetime.timedelta(days=1),
    "w": datetime.timedelta(weeks=1),
}


def parse_duration(value: object) -> datetime.timedelta:
    """Prometheus-style durations: `30s`, `5m`, `1h30m`, `1d`, `1w`."""
    if isinstance(value, datetime.timedelta):
        return value
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a duration such as 30s, 5m, 12h, 1d or 1w, got {value!r}")
    pos, total = 0, datetime.timedelta()
    for m in _DURATION.finditer(value):
        if m.start() != pos:
            break
        try:
            total += int(m[1]) * _DURATION_UNITS[m[2]]
        except OverflowError:
            raise ValueError(f"duration is too large: {value!r}") from None
        pos = m.end()
    if pos != len(value) or total <= datetime.timedelta():
        raise ValueError(f"expected a positive duration such as 30s, 5m, 12h, 1d or 1w, got {value!r}")
    return total


def format_duration(delta: datetime.timedelta) -> str:
    """5m, 1h30m, 45s: the form the file uses."""
    seconds = int(delta.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or f"{delta.total_seconds():g}s"


def _parse_time_zone(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected an IANA time zone name such as Europe/Berlin, got {value!r}")
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory such as Europe
        raise ValueError(f"unknown time zone {value!r}: expected an IANA name such as Europe/Berlin") from None
    return value


def _parse_local_time(value: object) -> datetime.datetime:
    """A wall-clock instant without zone; the enclosing rotation's time zone gives it meaning."""
    if isinstance(value, datetime.datetime):  # YAML reads an unquoted timestamp, offset and all
        parsed, shown = value, value.isoformat()
    elif isinstance(value, datetime.date):
        parsed, shown = datetime.datetime.combine(value, datetime.time()), value.isoformat()
    else:
        try:
            parsed, shown = datetime.datetime.fromisoformat(str(value)), str(value)
        except ValueError:
            raise ValueError(f"expected a local date and time such as 2026-01-05T09:00, got {value!r}") from None
    if parsed.tzinfo is not None:
        raise ValueError(f"{shown!r} carries a UTC offset: give local wall-clock time; time_zone says which zone")
    # A year of margin inside datetime's range, for zone offsets and for looking around the instant.
    if not datetime.MINYEAR < parsed.year < datetime.MAXYEAR:
        raise ValueError(
            f"{shown!r} is out of range: give a year from {datetime.MINYEAR + 1} to {datetime.MAXYEAR - 1}"
        )
    return parsed


def _parse_clock_time(value: object) -> datetime.time:
    if isinstance(value, int):  # YAML 1.1 reads 09:00 unquoted as sexagesimal minutes
        return datetime.time(value // 60, value % 60)
    try:
        return datetime.time.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"expected a time of day such as 09:00, got {value!r}") from None


def _parse_days(value: object) -> tuple[int, ...]:
    """`[mon, tue]`, `mon-fri` or `[mon-fri, sun]` → weekday numbers (Monday is 0)."""
    items = value if isinstance(value, list) else [value]
    days: list[int] = []
    for item in items:
        text = str(item).strip().lower()
        first, _, last = text.partition("-")
        if first[:3] not in DAYS or (last and last[:3] not in DAYS):
            raise ValueError(f"bad day {item!r}: expected mon, tue, wed, thu, fri, sat, sun or a range such as mon-fri")
        a, b = DAYS.index(first[:3]), DAYS.index((last or first)[:3])
        span = range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)]
        days.extend(d for d in span if d not in days)
    return tuple(days)


def _parse_phone(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):  # unquoted +1555…: YAML drops the + and reads a number
        raise ValueError(
            f"expected a phone number in E.164 form such as +15551230001, got the number {value}: "
            f'quote it, as in "+{value}", or YAML reads it as a number'
        )
    text = str(value).replace(" ", "").replace("-", "")
    if not re.fullmatch(r"\+[1-9]\d{6,14}", text):
        raise ValueError(f"expected a phone number in E.164 form such as +15551230001, got {value!r}")
    return text


def _parse_target(value: object) -> str:
    kind, sep, ident = str(value).partition(":")
    if not sep or kind not in TARGET_KINDS or not ident:
        raise ValueError(f"bad target {value!r}: expected user:ID, rotation:ID or schedule:ID")
    return f"{kind}:{ident}"


def parse_jsonpath(value: object) -> str:
    """A JSONPath such as `$.alert.title` (jsonpath-ng's extended syntax, filters included), checked here."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a JSONPath such as $.title, got {value!r}")
    try:
        jsonpath_ng.ext.parse(value)
    except jsonpath_ng.exceptions.JSONPathError as exc:
        raise ValueError(f"not a JSONPath: {value!r}: {exc}") from None
    return value


def _whole_seconds(value: object) -> datetime.timedelta:
    delta = parse_duration(value)
    if delta < datetime.timedelta(seconds=1) or delta.microseconds:
        raise ValueError(f"expected whole seconds such as 30s, 5m or 1h (second granularity), got {value!r}")
    return delta


Duration = typing.Annotated[datetime.timedelta, pydantic.PlainValidator(parse_duration)]
Seconds = typing.Annotated[datetime.timedelta, pydantic.PlainValidator(_whole_seconds)]
JSONPath = typing.Annotated[str, pydantic.PlainValidator(parse_jsonpath)]
TimeZone = typing.Annotated[str, pydantic.PlainValidator(_parse_time_zone)]
LocalTime = typing.Annotated[datetime.datetime, pydantic.PlainValidator(_parse_local_time)]
ClockTime = typing.Annotated[datetime.time, pydantic.PlainValidator(_parse_clock_time)]
Days = typing.Annotated[tuple[int, ...], pydantic.PlainValidator(_parse_days)]
Phone = typing.Annotated[str, pydantic.PlainValidator(_parse_phone)]
Target = typing.Annotated[str, pydantic.PlainValidator(_parse_target)]
Matcher = typing.Annotated[
    matchers.Matcher,
    pydantic.PlainValidator(lambda v: v if isinstance(v, matchers.Matcher) else matchers.parse(str(v))),
    pydantic.PlainSerializer(str),
]
PriorityKey = typing.Annotated[
    models.Priority,
    pydantic.PlainValidator(lambda v: v if isinstance(v, models.Priority) else models.Priority.parse(str(v))),
    pydantic.PlainSerializer(lambda p: p.name),
]
Email = typing.Annotated[str, pydantic.StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$", max_length=320)]
Ident = typing.Annotated[str, pydantic.StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)]
EnvName = typing.Annotated[str, pydantic.StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class Model(pydantic.BaseModel):
    """A section of the file: frozen once read, and an unknown key is an error."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
