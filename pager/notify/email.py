"""Pages by email over SMTP: the same facts and links as the SMS, with room for the runbook.

SMTP says itself whether to try again: 4xx replies (greylisting, a full queue)
and lost connections are temporary, 5xx replies (no such mailbox, relay
denied, bad credentials) are final.

Sessions are kept open between messages (a few, for a short while), so that
an email storm's pages do not each pay for connect, EHLO, STARTTLS, AUTH and QUIT.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import email.headerregistry
import email.message
import email.policy
import email.utils
import socket
import typing

import aiosmtplib
import structlog

from pager.notify import message

log = structlog.get_logger(__name__)

SUBJECT_SUMMARY_MAX = 120
KEEP_SESSIONS = 4
"""Idle SMTP sessions kept open for the next messages."""
KEEP_FOR = 20.0
"""Seconds an idle session is kept; servers close quiet ones themselves (Postfix after 300 s)."""


class _Headers(email.headerregistry.HeaderRegistry):
    """The standard header registry, keeping the class it makes for each header name. The stock one
    makes a new class for every header set, which was half the time of composing a page."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[email.headerregistry.BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[email.headerregistry.BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


POLICY = email.policy.default.clone(header_factory=_Headers())
"""email.policy.default, faster to compose with: the same messages byte for byte."""


def subject(msg: message.Message) -> str:
    """`[P0] checkout: 5xx above 5% (#1234)`: priority and service first, for inbox filters."""
    if msg.reminder:
        return f"[{msg.priority.name}] {msg.service}: status update overdue (#{msg.number})"
    summary = " ".join(msg.summary.split())
    if len(summary) > SUBJECT_SUMMARY_MAX:
        summary = summary[: SUBJECT_SUMMARY_MAX - 1].rstrip() + "…"
    return f"{msg.prefix}[{msg.priority.name}] {msg.service}: {summary} (#{msg.number})"


def _reminder_body(msg: message.Message) -> str:
    lines = [
        f"The next status update for {msg.priority.name} incident #{msg.number} on {msg.service} is overdue, "
        f"{msg.user_name}.",
        "",
        msg.summary.strip(),
        "",
        f"Post one: {msg.update_url}",
        f"By SMS: reply update {msg.number} followed by where things stand.",
        "",
        "-- ",
        "pager: you run this incident (commander, or whoever acknowledged or is on call).",
    ]
    return "\n".join(lines) + "\n"


def body(msg: message.Message) -> str:
    if msg.reminder:
        return _reminder_body(msg)
    lines = [
        f"{msg.prefix}{msg.priority.name} incident #{msg.number} on {msg.service} needs you, {msg.user_name}.",
        "",
        *(["This is a drill: please acknowledge it as you would a real incident.", ""] if msg.drill else []),
        msg.summary.strip(),
        "",
    ]
    if msg.ack_url:
        lines.append(f"Acknowledge or resolve: {msg.ack_url}")
    if msg.runbook_url:
        lines.append(f"Runbook: {msg.runbook_url}")
    if msg.dashboard_url:
        lines.append(f"Dashboard: {msg.dashboard_url}")
    if msg.after_change:
        lines.append(f"It opened after a change: {' '.join(msg.after_change.split())}")
    lines.append(f"By SMS: reply {msg.number} to acknowledge, res {msg.number} to resolve.")
    if msg.more:
        lines += ["", f"{len(msg.more)} more open incident{'s' if len(msg.more) > 1 else ''} for you:"]
        lines += [f"  #{number} {' '.join(summary.split())}" for number, summary in msg.more]
    lines += ["", "-- ", "pager: you are on call for this service."]
    return "\n".join(lines) + "\n"


def compose(msg: message.Message, sender: str) -> email.message.EmailMessage:
    """The whole email; every page of one incident threads under one conversation."""
    mail = email.message.EmailMessage(policy=POLICY)
    domain = sender.rpartition("@")[2] or "pager.invalid"
    thread = f"<incident-{msg.incident_id}@{domain}>"
    mail["From"] = sender
    mail["To"] = msg.address
    mail["Subject"] = subject(msg)
    mail["Date"] = email.utils.formatdate(usegmt=True)
    mail["Message-ID"] = email.utils.make_msgid(domain=domain)
    mail["In-Reply-To"] = thread
    mail["References"] = thread
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: vacation responders stay quiet
    mail["X-Pager-Incident"] = str(msg.number)
    mail["X-Pager-Priority"] = msg.priority.name
    mail.set_content(body(msg))
    return mail


class _Sessions:
    """SMTP sessions kept open between messages, each used by one message at a time.

    A session that fails is closed. One the server closed while it was kept is found when it is next
    used, and the message goes at once on a new session instead."""

    def __init__(self, session: typing.Callable[[], dict[str, typing.Any]]) -> None:
        self._session = session
        self._idle: list[tuple[float, aiosmtplib.SMTP]] = []

    async def _fresh(self) -> aiosmtplib.SMTP:
        client = aiosmtplib.SMTP(**self._session())
        await client.connect()
        return client

    def _kept(self, now: float) -> aiosmtplib.SMTP | None:
        while self._idle:
            since, client = self._idle.pop()
            if client.is_connected and now - since < KEEP_FOR:
                return client
            client.close()
        return None

    async def use(self, job: typing.Callable[[aiosmtplib.SMTP], typing.Awaitable[object]]) -> None:
        client = self._kept(asyncio.get_running_loop().time())
        if client is not None:
            try:
                await self._run(client, job)
                return
            except aiosmtplib.SMTPServerDisconnected:
                pass  # closed while kept: once more, on a new session
        await self._run(await self._fresh(), job)

    async def _run(
        self, client: aiosmtplib.SMTP, job: typing.Callable[[aiosmtplib.SMTP], typing.Awaitable[object]]
    ) -> None:
        """`job` on `client`, kept for the next message afterwards, or closed if it failed."""
        try:
            await job(client)
        except BaseException:
            client.close()
            raise
        if len(self._idle) < KEEP_SESSIONS:
            self._idle.append((asyncio.get_running_loop().time(), client))
        else:
            client.close()

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for _, client in idle:
            with contextlib.suppress(Exception):
                await client.quit()
            client.close()


class SmtpEmail:
    """A `message.Notifier` for the `email` channel; its SMTP sessions are kept for the next pages."""

    channel = "email"

    def __init__(
        self,
        *,
        host: str = "localhost",
        port: int = 25,
        sender: str = "pager@localhost",
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        tls: bool = False,
        retry: message.RetryPolicy = message.DEFAULT_RETRY,
    ) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        # The name our EHLO gives, looked up once: left to aiosmtplib, every mail's session resolved it
        # again (socket.getfqdn, a DNS round trip in a worker thread), which in an email storm was
        # more of the daemon's time than composing the mail.
        self._local_hostname = socket.getfqdn()
        self._username = username
        self._password = password
        self._starttls = starttls
        self._tls = tls
        self._retry = retry
        self._sessions = _Sessions(self._session)

    @property
    def sender(self) -> str:
        return self._sender

    def _session(self) -> dict[str, typing.Any]:
        return {
            "local_hostname": self._local_hostname,
            "hostname": self._host,
            "port": self._port,
            "username": self._username,
            "password": self._password,
            "use_tls": self._tls,
            "start_tls": self._starttls and not self._tls,
            "timeout": self._retry.attempt_timeout.total_seconds(),
        }

    async def transmit(self, mail: email.message.EmailMessage) -> None:
        """One composed mail; raises what aiosmtplib raises (the web UI's sign-in mail uses it too)."""
        await self._sessions.use(lambda client: client.send_message(mail))

    async def send_mail(self, mail: email.message.EmailMessage) -> message.Outcome:
        """A message composed elsewhere (stakeholder mail), in one attempt: the caller's outbox retries it.

        Flattened with the message's own policy (aiosmtplib's folds headers at 78 columns, and Python
        folds some subjects straight after 'Subject:', which readers show with a leading space).
        """
        raw = mail.as_bytes(policy=mail.policy.clone(linesep="\r\n"))
        recipients = [address for _, address in email.utils.getaddresses(mail.get_all("To", []))]
        try:
            await self._sessions.use(lambda client: client.sendmail(mail["From"], recipients, raw))
        except Exception as exc:
            failure = self._classify(exc)
            if failure is None:
                raise
            return message.Outcome.failed(failure.error, permanent=not failure.temporary)
        return message.Outcome.sent(mail["Message-ID"])

    async def send(self, msg: message.Message) -> message.Outcome:
        mail = compose(msg, self._sender)

        async def once() -> str | None:
            await self.transmit(mail)
            return mail["Message-ID"]

        outcome = await message.deliver(once, self._classify, self._retry, msg)
        log.info(
            "notify.email",
            incident_id=msg.incident_id,
            user=msg.user_id,
            ok=outcome.ok,
            permanent=outcome.permanent,
            attempts=outcome.attempts,
            error=outcome.error or None,
        )
        return outcome

    def _classify(self, exc: Exception) -> message.Failure | None:
        if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
            return _refused(min(exc.recipients, key=lambda r: r.code), "recipient refused")
        if isinstance(exc, aiosmtplib.SMTPResponseException):
            return _refused(exc, type(exc).__name__.removeprefix("SMTP"))
        if isinstance(exc, aiosmtplib.SMTPNotSupported):
            return message.Failure(f"SMTP server {self._host}: {exc.message}", temporary=False)
        if isinstance(exc, (aiosmtplib.SMTPException, OSError)):
            return message.Failure(f"cannot reach SMTP server {self._host}:{self._port}: {exc}", temporary=True)
        return None

    async def aclose(self) -> None:
        await self._sessions.aclose()


def _refused(exc: aiosmtplib.SMTPResponseException, what: str) -> message.Failure:
    return message.Failure(f"SMTP {exc.code} ({what}): {exc.message}", temporary=400 <= exc.code < 500)


def build(section: typing.Any, secrets: typing.Mapping[str, str], server: typing.Any) -> SmtpEmail:
    """The `email` channel from `notifiers.email` (pager.channels.Email) and its secrets."""
    return SmtpEmail(
        host=section.host,
        port=section.port,
        sender=section.from_address,
        username=secrets.get("username"),
        password=secrets.get("password"),
        starttls=section.starttls,
        tls=section.tls,
        retry=dataclasses.replace(message.DEFAULT_RETRY, attempt_timeout=section.timeout),
    )
