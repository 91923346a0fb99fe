"""The loop shape the engine and the sender share: work, then sleep until due, a wake-up, or a safety re-check."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import typing

import structlog

from pager import clock as clock_mod
from pager import lanes as lanes_mod
from pager.store import db

log = structlog.get_logger(__name__)


async def sleep(
    clock: clock_mod.Clock, wake: asyncio.Event, until: datetime.datetime | None, safety: datetime.timedelta
) -> None:
    """Until `until` (at most `safety` from now) or until `wake` is set, whichever is first."""
    limit = clock.now() + safety
    until = limit if until is None else min(until, limit)
    waiters = {asyncio.ensure_future(wake.wait()), asyncio.ensure_future(clock.sleep_until(until))}
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


async def forever(
    name: str,
    work: typing.Callable[[], typing.Awaitable[object]],
    next_due: typing.Callable[[], typing.Awaitable[datetime.datetime | None]],
    clock: clock_mod.Clock,
    wake: asyncio.Event,
    safety: datetime.timedelta,
) -> None:
    """Never dies: a database outage or a bug is logged and retried a second later."""
    while True:
        wake.clear()
        try:
            await work()
            # Woken while working (new incidents under load): go again without asking when next is due.
            due = None if wake.is_set() else await next_due()
        except db.Unavailable as exc:
            log.warning(f"{name}: database unavailable; retrying", error=str(exc))
            due = clock.now() + datetime.timedelta(seconds=1)
        except Exception:
            log.exception(f"{name}: unexpected error; retrying")
            due = clock.now() + datetime.timedelta(seconds=1)
        await sleep(clock, wake, due, safety)


async def lanes(
    name: str,
    work: typing.Callable[[bool], typing.Awaitable[object]],
    next_due: typing.Callable[[bool], typing.Awaitable[datetime.datetime | None]],
    clock: clock_mod.Clock,
    wakes: typing.Mapping[str, asyncio.Event],
    safety: datetime.timedelta,
    only: typing.Collection[str] = tuple(lanes_mod.LANES),
) -> None:
    """`forever` for each lane in `only`, `work(urgent)` and `next_due(urgent)` told which lane they serve."""
    await asyncio.gather(
        *(
            forever(
                f"{name}:{lane}",
                lambda urgent=urgent: work(urgent),
                lambda urgent=urgent: next_due(urgent),
                clock,
                wakes[lane],
                safety,
            )
            for lane, urgent in lanes_mod.LANES.items()
            if lane in only
        )
    )


@contextlib.asynccontextmanager
async def running(
    coro: typing.Coroutine[typing.Any, typing.Any, None], name: str
) -> typing.AsyncIterator[asyncio.Task[None]]:
    """A background task for the length of the block, cancelled and awaited at its end."""
    task = asyncio.create_task(coro, name=name)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
