"""Waiting for what a background loop does, bounded so a lost wake-up fails a test instead of hanging it."""

from __future__ import annotations

import asyncio
import typing


async def eventually(predicate: typing.Callable[[], typing.Awaitable[typing.Any]], timeout: float = 10.0) -> typing.Any:
    """Poll until predicate() is truthy and return its value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"condition not reached within {timeout}s")
        await asyncio.sleep(0.01)
