"""Status updates as the incident guides structure them, read from what a person sends.

An update says where things stand (`status`, required), what is known, what is being done,
what is not known yet, and when the next update comes (`next_update_in`, a duration such as
30m). The API, the update page behind a reminder's link and the SMS reply `update 1234 <text>`
all make a `Draft` here, so they refuse the same things with the same words.
"""

from __future__ import annotations

import dataclasses
import datetime
import typing

from pager import values

PARTS = ("status", "known", "doing", "unknown")
LABELS = {
    "status": "Status",
    "known": "What we know",
    "doing": "What we are doing",
    "unknown": "What we don't know yet",
}
MAX_PART = 4000
PATH = "/u/"  # the update page: /u/{token}, the link a status-update reminder carries


class Invalid(ValueError):
    """What is wrong with an update, naming the field ('status': ...)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Draft:
    status: str
    known: str | None = None
    doing: str | None = None
    unknown: str | None = None
    next_update_in: datetime.timedelta | None = None


def _part(data: typing.Mapping[str, typing.Any], key: str, *, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip() and not required):
        if required:
            raise Invalid(f"'{key}' is required: say where things stand")
        return None
    if not isinstance(value, str):
        raise Invalid(f"'{key}' must be a string")
    if not value.strip():
        raise Invalid(f"'{key}' must not be empty: say where things stand")
    if len(value) > MAX_PART:
        raise Invalid(f"'{key}' is longer than {MAX_PART} characters")
    return value.strip()


def draft(data: typing.Mapping[str, typing.Any]) -> Draft:
    """A draft from the fields a person filled in (JSON or a form); `Invalid` names the first bad field."""
    status = _part(data, "status", required=True)
    assert status is not None
    raw = data.get("next_update_in")
    next_in = None
    if raw is not None and raw != "":
        try:
            next_in = values.parse_duration(raw)
        except ValueError as exc:
            raise Invalid(f"'next_update_in': {exc}") from None
        if next_in > datetime.timedelta(days=7):
            raise Invalid(f"'next_update_in': at most 7d, got {raw!r}")
    return Draft(status, _part(data, "known"), _part(data, "doing"), _part(data, "unknown"), next_in)


def update_url(base_url: str, token: str) -> str:
    """The update page a reminder links to; the token is an ack token (one incident, one person)."""
    return f"{base_url.rstrip('/')}{PATH}{token}"
