"""SMS opt-out keywords: a reply of STOP unsubscribes a number from SMS, START subscribes it again.

The words are Twilio's (and the carriers'): the whole message, any case, spaces
and trailing punctuation aside. Twilio's Advanced Opt-Out names the keyword
class it matched in `OptOutType`, which wins when present.
"""

from __future__ import annotations

import re
import typing

Keyword = typing.Literal["STOP", "START"]

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
START_WORDS = frozenset({"START", "YES", "UNSTOP"})


def keyword(body: str, opt_out_type: str | None = None) -> Keyword | None:
    """STOP, START, or None for any other message (an ack reply, HELP, ...)."""
    kind = (opt_out_type or "").strip().upper()
    if kind in ("STOP", "START"):
        return typing.cast(Keyword, kind)
    word = re.sub(r"[\s.!]+", "", body).upper()
    if word in STOP_WORDS:
        return "STOP"
    if word in START_WORDS:
        return "START"
    return None
