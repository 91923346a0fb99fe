"""Where every piece of logic gets `now` from, so tests can fast-forward time."""

from __future__ import annotations

import asyncio
import datetime
import typing


class Clock(typing.Protocol):
    def now(self) -> datetime.datetime: ...

    async def sleep_until(self, when: datetime.datetime) -> None: ...


class SystemClock:
    def now(self) -> datetime.datetime:
        return datetime.datetime.now(datetime.UTC)

    async def sleep_until(self, when: datetime.datetime) -> None:
        delay = (when - self.now()).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)


class ManualClock:
    """A clock that only moves when told to; sleepers wake as it passes their instant."""

    def __init__(self, start: datetime.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start
        self._changed = asyncio.Condition()

    def now(self) -> datetime.datetime:
        return self._now

    async def sleep_until(self, when: datetime.datetime) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self._now >= when)

    async def advance(self, delta: datetime.timedelta) -> None:
        await self.set(self._now + delta)

    async def set(self, when: datetime.datetime) -> None:
        async with self._changed:
            self._now = when
            self._changed.notify_all()
        await asyncio.sleep(0)
