"""An HTTP endpoint that receives pager's outgoing webhooks, answers as scripted, and keeps every request."""

from __future__ import annotations

import asyncio
import collections
import collections.abc
import contextlib
import dataclasses
import json
import typing

from aiohttp import web


@dataclasses.dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int

    def json(self) -> typing.Any:
        return json.loads(self.body)


class Sink:
    def __init__(self) -> None:
        self.url = ""
        self.requests: list[Received] = []
        self._script: collections.deque[tuple[int, float]] = collections.deque()

    def fail_next(self, n: int = 1, status: int = 500) -> None:
        self._script.extend((status, 0.0) for _ in range(n))

    def stall_next(self, n: int = 1, seconds: float = 30.0) -> None:
        self._script.extend((200, seconds) for _ in range(n))

    @property
    def accepted(self) -> list[Received]:
        return [r for r in self.requests if 200 <= r.answered < 300]

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        status, delay = self._script.popleft() if self._script else (200, 0.0)
        if delay:
            await asyncio.sleep(delay)
        self.requests.append(Received(dict(request.headers), body, status))
        return web.Response(status=status, text="ok" if status < 300 else "boom")


@contextlib.asynccontextmanager
async def running() -> collections.abc.AsyncIterator[Sink]:
    sink = Sink()
    app = web.Application()
    app.router.add_post("/{tail:.*}", sink._handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    sink.url = f"http://{host}:{port}/hooks/pager"
    try:
        yield sink
    finally:
        await runner.cleanup()
