"""Waiting for what a background loop does, bounded so a lost wake-up fails a test instead of hanging it."""

from __future__ import annotations

import asyncio
import inspect
import typing


async def eventually(predicate: typing.Callable[[], typing.Any], timeout: float = 10.0) -> typing.Any:
    """Poll until predicate() (sync, or returning an awaitable) is truthy, and return its value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"condition not reached within {timeout}s")
        await asyncio.sleep(0.01)
