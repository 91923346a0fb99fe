"""The two lanes all background work runs in, P0/P1 (urgent) beside P2/P3 (routine), and how a
NOTIFY payload names one, so that news of a P0 wakes only the loops that will act on it."""

from __future__ import annotations

import typing

from pager import models

LANES = {"urgent": True, "routine": False}
"""Each loop of work runs once per lane: P0/P1 work (urgent) and P2/P3 work (routine), side by side."""


def lane_of(priority: models.Priority) -> str:
    return "urgent" if priority <= models.Priority.P1 else "routine"


def named(payload: str) -> tuple[str, ...]:
    """The lanes a NOTIFY payload (or an in-process wake-up) names: 'urgent' or 'routine' wakes that lane
    alone, so a P0 never sets the other lane's loops claiming nothing. Anything else (empty, an incident
    id, a replica of an older version) wakes every lane."""
    return (payload,) if payload in LANES else tuple(LANES)


def payload(lanes: typing.Collection[str]) -> str:
    """The payload that wakes exactly `lanes`, or every lane."""
    return next(iter(lanes)) if len(lanes) == 1 else ""
