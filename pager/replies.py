"""SMS replies that run an incident, beside `ack 1234` / `res 1234` (pager.ack): `own 1234`, `update 1234 <text>`.

`own 1234` makes the sender commander; `update 1234 <text>` posts a status update whose
status is the text. Case, a '#' before the number and punctuation around the verb are
tolerated, as for acknowledging; anything else is not one of these (None).
"""

from __future__ import annotations

import dataclasses
import re

OWN = "own"
UPDATE = "update"

_OWN = re.compile(r"^[\W_]*own[\W_]+#?(?P<number>[0-9]{1,18})[\W_]*$", re.IGNORECASE)
_UPDATE = re.compile(r"^[\W_]*(?:update|upd)[\W_]+#?(?P<number>[0-9]{1,18})\b[\s:,.-]*(?P<text>.*)$", re.I | re.S)


@dataclasses.dataclass(frozen=True, slots=True)
class Command:
    verb: str  # OWN or UPDATE
    number: int
    text: str = ""  # the status, for UPDATE (may be empty: the caller says what is missing)


def parse(body: str) -> Command | None:
    text = body.strip()
    if m := _OWN.match(text):
        number = int(m["number"])
        return Command(OWN, number) if number > 0 else None
    if m := _UPDATE.match(text):
        number = int(m["number"])
        return Command(UPDATE, number, " ".join(m["text"].split())) if number > 0 else None
    return None
