"""A real SMTP server (aiosmtpd) that keeps what it accepts and can refuse on cue."""

from __future__ import annotations

import asyncio
import collections
import collections.abc
import contextlib
import email
import email.message
import email.policy
import socket
import threading
import typing

from aiosmtpd import controller, smtp


class Stalling:
    """Holds every DATA until `release` is set (the server runs in its own thread and loop)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.stalled = threading.Event()

    async def wait(self) -> None:
        self.stalled.set()
        await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 30)


class Mailbox:
    """An aiosmtpd handler that keeps what it accepts and answers scripted refusals first."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], email.message.EmailMessage]] = []
        self.script: dict[str, collections.deque[str]] = {"RCPT": collections.deque(), "DATA": collections.deque()}
        self.attempts = 0
        self.sessions = 0  # EHLOs: one per SMTP session a client opened
        self.stall: Stalling | None = None

    def refuse(self, stage: str, reply: str, n: int = 1) -> None:
        self.script[stage].extend([reply] * n)

    async def handle_EHLO(
        self, server: smtp.SMTP, session: smtp.Session, envelope: smtp.Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(
        self, server: smtp.SMTP, session: smtp.Session, envelope: smtp.Envelope, address: str, options: list[str]
    ) -> str:
        self.attempts += 1
        if self.script["RCPT"]:
            return self.script["RCPT"].popleft()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: smtp.SMTP, session: smtp.Session, envelope: smtp.Envelope) -> str:
        if self.stall is not None:
            await self.stall.wait()
        if self.script["DATA"]:
            return self.script["DATA"].popleft()
        mail = email.message_from_bytes(typing.cast(bytes, envelope.content), policy=email.policy.default)
        self.received.append((typing.cast(str, envelope.mail_from), list(envelope.rcpt_tos), mail))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def smtp_server(
    mailbox: Mailbox | None = None, port: int | None = None, **options: typing.Any
) -> collections.abc.Iterator[tuple[Mailbox, int]]:
    """A server on `port` (default: a free one) for the block; `port` lets a test bring a dead server back."""
    mailbox = mailbox or Mailbox()
    port = port or free_port()
    server = controller.Controller(mailbox, hostname="127.0.0.1", port=port, **options)
    server.start()
    try:
        yield mailbox, port
    finally:
        server.stop()
