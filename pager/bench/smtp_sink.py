"""An SMTP sink for `pager bench` (aiosmtpd): it takes every page by email and notes when it arrived.

The storm phase pages its lower-priority incidents by email, as a real set-up
would. With `fail=True` the sink refuses every recipient with a permanent
550, so pager gives those pages up on email and falls back to the users'
other channel (SMS, through the bench's Twilio sink): the worst case, where
the storm's pages compete with the P0 pages on the same channel.

Arrival times are `time.perf_counter()` in the bench process, as the Twilio
sink's are, so they compare directly with the instant an alert was sent.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import time
import typing

from aiosmtpd import smtp

_NUMBER = re.compile(rb"#(\d+)")
REFUSAL = "550 5.1.1 mailbox unavailable (pager bench: the storm's email is set to fail)"


@dataclasses.dataclass(frozen=True, slots=True)
class Arrival:
    at: float  # time.perf_counter() in the bench process
    to: tuple[str, ...]
    numbers: tuple[int, ...]  # every incident the email names: its own (#12) and bundled ones


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_RCPT(
        self, server: smtp.SMTP, session: smtp.Session, envelope: smtp.Envelope, address: str, options: list[str]
    ) -> str:
        if self._sink.fail:
            self._sink.refused += 1
            return REFUSAL
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: smtp.SMTP, session: smtp.Session, envelope: smtp.Envelope) -> str:
        at = time.perf_counter()
        content = typing.cast(bytes, envelope.original_content or envelope.content or b"")
        numbers = tuple(dict.fromkeys(int(n) for n in _NUMBER.findall(content)))
        self._sink.arrivals.append(Arrival(at, tuple(envelope.rcpt_tos), numbers))
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail
        self.arrivals: list[Arrival] = []
        self.refused = 0
        self.host = ""
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        handler = _Handler(self)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: smtp.SMTP(handler, hostname="pager-bench", ident="pager bench SMTP sink", data_size_limit=None),
            host,
            port,
        )
        self.host, self.port = self._server.sockets[0].getsockname()[:2]
        return self.host, self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
