"""The mailer: sends notices, mail that is not a page (reminders, the report digest), from their queue.

Same shape as the outbox sender, smaller: lease due mail (committed before
sending, so a mailer that dies mid-send leaves it to be sent again), compose
(a digest is rendered here, for the period its row names), send, record. Mail
goes by the `email` channel's SMTP relay; without one, the console prints it
(as the console stands in for pages); with neither, it fails loudly. It is never
throttled with pages and never waits behind them: it has its own loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import email.message
import email.utils
import sys
import typing

import aiosmtplib
import structlog

from pager import clock as clock_mod
from pager import config, wakeup
from pager.notify import email as email_notify
from pager.notify import message
from pager.sender import settle
from pager.store import notices as notices_store

log = structlog.get_logger(__name__)

LEASE = datetime.timedelta(seconds=120)
SAFETY_INTERVAL = datetime.timedelta(seconds=60)
BATCH = 20
MAX_ATTEMPTS = 8


@dataclasses.dataclass(frozen=True, slots=True)
class Composed:
    subject: str
    body: str
    attachments: tuple[tuple[str, str, bytes], ...] = ()  # (file name, MIME type, content)


Renderer = typing.Callable[[notices_store.Queued], typing.Awaitable[Composed]]
"""Renders mail queued without a text (kind → renderer), such as the digest."""


class Mailer:
    def __init__(
        self,
        settings: config.Settings,
        queue: notices_store.Notices,
        clock: clock_mod.Clock,
        renderers: typing.Mapping[str, Renderer] | None = None,
        *,
        stream: typing.TextIO | None = None,
        safety_interval: datetime.timedelta = SAFETY_INTERVAL,
    ) -> None:
        self.settings = settings
        self.queue = queue
        self.clock = clock
        self.renderers = dict(renderers or {})
        self._stream = stream
        self._safety = safety_interval
        self._wake = asyncio.Event()
        found = settings.channel("email")
        self._smtp = email_notify.build(found[0], found[1], settings.config.server) if found else None
        section = found[0] if found else None
        self.sender = section.from_address if section is not None else "pager@localhost"
        self._console = settings.enabled("console")

    def wake(self, *_: object) -> None:
        self._wake.set()

    async def _compose(self, m: notices_store.Queued) -> Composed:
        if m.subject is not None and m.body is not None:
            return Composed(m.subject, m.body)
        renderer = self.renderers.get(m.kind)
        if renderer is None:
            raise LookupError(f"no renderer for mail of kind {m.kind!r}")
        return await renderer(m)

    def mime(self, m: notices_store.Queued, c: Composed) -> email.message.EmailMessage:
        mail = email.message.EmailMessage()
        domain = self.sender.rpartition("@")[2] or "pager.invalid"
        mail["From"] = self.sender
        mail["To"] = ", ".join(m.recipients)
        mail["Subject"] = c.subject
        mail["Date"] = email.utils.formatdate(usegmt=True)
        mail["Message-ID"] = email.utils.make_msgid(domain=domain)
        mail["Auto-Submitted"] = "auto-generated"
        mail["X-Pager-Mail"] = m.kind
        if m.incident_id is not None:
            mail["X-Pager-Incident"] = str(m.incident_id)
        mail.set_content(c.body)
        for name, mime_type, content in c.attachments:
            maintype, _, subtype = mime_type.partition("/")
            mail.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
        return mail

    async def _send(self, m: notices_store.Queued) -> message.Outcome:
        try:
            composed = await self._compose(m)
        except Exception as exc:  # noqa: BLE001 - a digest that cannot be rendered now is retried
            log.exception("mail could not be composed", kind=m.kind, mail=m.id)
            return message.Outcome.failed(f"cannot compose: {type(exc).__name__}: {exc}", permanent=False)
        mail = self.mime(m, composed)
        if self._smtp is not None:
            try:
                await self._smtp.transmit(mail)  # one attempt: the queue retries, with backoff
            except (aiosmtplib.SMTPException, OSError) as exc:
                final = isinstance(exc, aiosmtplib.SMTPResponseException) and 500 <= exc.code < 600
                return message.Outcome.failed(f"SMTP: {exc}", permanent=final)
            return message.Outcome.sent(mail["Message-ID"])
        if self._console:
            stream = self._stream or sys.stdout
            names = ", ".join(name for name, _, _ in composed.attachments)
            stream.write(
                f"=== MAIL ({m.kind}) to {', '.join(m.recipients)} ===\nSubject: {composed.subject}\n\n{composed.body}"
                + (f"[attached: {names}]\n" if names else "")
            )
            stream.flush()
            return message.Outcome.sent(f"console-mail-{m.id}")
        return message.Outcome.failed("no email channel: configure notifiers.email", permanent=True)

    async def drain(self) -> int:
        """Send every mail due now; returns how many were leased."""
        total = 0
        while True:
            claimed = await self.queue.claim(self.clock.now(), BATCH, LEASE)
            total += len(claimed)
            results = await asyncio.gather(*(self._send(m) for m in claimed))
            done = self.clock.now()
            for m, outcome in zip(claimed, results):
                if outcome.ok:
                    await self.queue.sent(m.id, done)
                    log.info("mail sent", kind=m.kind, mail=m.id, to=list(m.recipients))
                elif not outcome.permanent and m.attempts < MAX_ATTEMPTS:
                    delay = settle.retry_delay(m.attempts)
                    await self.queue.retry(m.id, outcome.error, done + delay)
                    log.warning("mail failed; will retry", kind=m.kind, mail=m.id, error=outcome.error)
                else:
                    await self.queue.failed(m.id, outcome.error)
                    log.error("mail failed for good", kind=m.kind, mail=m.id, error=outcome.error)
            if len(claimed) < BATCH:
                return total

    async def run(self) -> None:
        await wakeup.forever("mailer", self.drain, self.queue.next_due, self.clock, self._wake, self._safety)

    async def aclose(self) -> None:
        if self._smtp is not None:
            await self._smtp.aclose()
