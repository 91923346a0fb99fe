"""The per-contact throttle: never more than `limit` messages per `window` to one address, never a first page held.

Only traffic at least as urgent counts against a message: a storm of P3 email
cannot hold a P0 back, while P0 pages to a contact drowning in P0 pages are
bundled. A held page is delayed until the window has room, never dropped.
"""

from __future__ import annotations

import datetime
import typing

from pager import channels, models
from pager.store import outbox


def held_until(
    first_page: bool,
    priority: models.Priority,
    sent: typing.Sequence[outbox.Sent],
    throttle: channels.Throttle,
    now: datetime.datetime,
) -> datetime.datetime | None:
    """When a message of this urgency to this contact may go out; None when it may go now."""
    if first_page:
        return None
    ats = sorted(s.at for s in sent if s.priority <= priority and s.at > now - throttle.window)
    if len(ats) < throttle.limit:
        return None
    # Room opens when enough of the window's messages have aged out of it.
    return ats[len(ats) - throttle.limit] + throttle.window
