"""The web UI's change hub: a stream subscribes before it catches up, so nothing opened meanwhile is missed."""

from __future__ import annotations

import asyncio

from pager.web.ui.hub import Hub  # the package exports a function named hub


async def test_a_change_published_while_a_stream_catches_up_is_still_told() -> None:
    hub = Hub()
    heard = hub.subscribe()
    hub.publish()  # an incident opened while the stream was reading what was already there
    changes = hub.changes(heartbeat=5.0, settle=0.0, event=heard)
    assert await asyncio.wait_for(anext(changes), 1.0) is True
    await changes.aclose()
    assert hub.listeners == 0


async def test_without_a_change_a_stream_hears_the_heartbeat() -> None:
    hub = Hub()
    changes = hub.changes(heartbeat=0.05, settle=0.0)
    assert await asyncio.wait_for(anext(changes), 1.0) is False
    await changes.aclose()
