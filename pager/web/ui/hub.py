"""The in-process hook live pages hang on: woken when incidents change anywhere.

The daemon LISTENs on `pager_incidents` (every replica's new incidents NOTIFY it) and calls
`publish`; every open event stream then looks for what is new. `publish` also runs after the
listener reconnects, since notifications sent meanwhile are lost, so streams catch up then.
"""

from __future__ import annotations

import asyncio
import typing


class Hub:
    def __init__(self) -> None:
        self._waiters: set[asyncio.Event] = set()
        self._closed = False

    def publish(self, *_: object) -> None:
        for event in self._waiters:
            event.set()

    def close(self) -> None:
        """At shutdown: every stream ends, so the server need not wait them out."""
        self._closed = True
        self.publish()

    @property
    def listeners(self) -> int:
        return len(self._waiters)

    def subscribe(self) -> asyncio.Event:
        """Start hearing of changes now, before reading what is already there: none published in between is missed."""
        event = asyncio.Event()
        self._waiters.add(event)
        return event

    def unsubscribe(self, event: asyncio.Event) -> None:
        self._waiters.discard(event)

    async def changes(
        self, heartbeat: float, settle: float = 0.2, event: asyncio.Event | None = None
    ) -> typing.AsyncIterator[bool]:
        """True after each change (a burst within `settle` seconds counts once), False every `heartbeat` quiet seconds.

        `event`: one `subscribe` returned, whose changes count from then; it is unsubscribed at the end."""
        event = event or self.subscribe()
        try:
            while not self._closed:
                try:
                    await asyncio.wait_for(event.wait(), heartbeat)
                except TimeoutError:
                    yield False
                    continue
                await asyncio.sleep(settle)
                event.clear()
                if self._closed:
                    return
                yield True
        finally:
            self._waiters.discard(event)
