"""The stakeholder mail sender: leases queued stakeholder email, sends it, records what happened.

Stakeholder mail is not a page: it has its own outbox (`stakeholder_mail`) and this loop of its
own, so it is never throttled with pages, never held behind them and never holds them up, never
goes by SMS, carries no ack link, and is counted in `pager_stakeholder_mail_total`, not in
`pager_notifications_total`. It goes through the `email` channel's SMTP relay (the console
prints it when email is not configured, as it does pages). Like a page it is durable: leased
before it is sent, retried with backoff when the relay fails for now, and recorded with a
`stakeholders_notified` timeline entry once the relay took it.
"""

from __future__ import annotations

import asyncio
import datetime
import email.message
import email.policy
import email.utils
import typing

import structlog

from pager import clock as clock_mod
from pager import config, effects, plan, timeline, wakeup
from pager import metrics as metrics_mod
from pager.notify import message
from pager.sender import settle
from pager.store import stakeholder_mail as mail_store

log = structlog.get_logger(__name__)

LEASE = datetime.timedelta(seconds=90)
SAFETY_INTERVAL = datetime.timedelta(seconds=30)
BATCH = 50
MAX_ATTEMPTS = settle.MAX_ATTEMPTS
_POLICY = email.policy.default.clone(max_line_length=998)
"""Headers unfolded up to RFC 5322's hard limit: Python folds some subjects right after 'Subject:',
which readers then show with a leading space."""
EVENTS = {"declared": "incident declared", "update": "status update", "all_clear": "all clear"}


class Transport(typing.Protocol):
    async def send_mail(self, mail: email.message.EmailMessage) -> message.Outcome: ...


def transport(notifiers: typing.Mapping[str, typing.Any]) -> Transport | None:
    """The email channel's relay, else the console (a first run shows the mail); None: mail cannot go."""
    for name in ("email", "console"):
        if hasattr(notifiers.get(name), "send_mail"):
            return typing.cast(Transport, notifiers[name])
    return None


def compose(m: mail_store.Queued, sender: str) -> email.message.EmailMessage:
    """The email: one thread per incident (apart from its pages), marked automatic, no ack link."""
    mail = email.message.EmailMessage(policy=_POLICY)
    domain = sender.rpartition("@")[2] or "pager.invalid"
    thread = f"<incident-{m.incident_id}-stakeholders@{domain}>"
    mail["From"] = sender
    mail["To"] = ", ".join(m.recipients)
    mail["Subject"] = m.subject
    mail["Date"] = email.utils.formatdate(usegmt=True)
    mail["Message-ID"] = email.utils.make_msgid(domain=domain)
    if m.event != "declared":
        mail["In-Reply-To"] = thread
    mail["References"] = thread
    mail["Auto-Submitted"] = "auto-generated"
    mail["X-Pager-Incident"] = str(m.incident_id)
    mail["X-Pager-Stakeholder"] = m.stakeholder
    mail.set_content(m.body)
    return mail


def outcomes(
    results: typing.Sequence[tuple[mail_store.Queued, message.Outcome]], done: datetime.datetime
) -> tuple[mail_store.Outcomes, list[effects.Effect]]:
    """Pure: what each relay answer writes (sent + timeline, retry later, failed for good) and emits."""
    sent: list[tuple[int, str | None]] = []
    retry: list[tuple[int, str, datetime.datetime]] = []
    failed: list[tuple[int, str]] = []
    lines: list[plan.Line] = []
    fx: list[effects.Effect] = []
    for m, outcome in results:
        if outcome.ok:
            sent.append((m.id, outcome.provider_id))
            fx.append(effects.Count("stakeholder_mail", ("sent",)))
            lines.append(
                plan.Line(
                    m.incident_id,
                    timeline.Kind.STAKEHOLDERS_NOTIFIED,
                    f"Told {m.stakeholder} ({', '.join(m.recipients)}) by email: {EVENTS.get(m.event, m.event)}",
                    details={"stakeholder": m.stakeholder, "event": m.event, "recipients": list(m.recipients)},
                )
            )
        elif not outcome.permanent and m.attempts < MAX_ATTEMPTS:
            delay = settle.retry_delay(m.attempts)
            retry.append((m.id, outcome.error, done + delay))
            fx.append(effects.Count("stakeholder_mail", ("retry",)))
            fx.append(effects.warning("stakeholder mail failed; will retry", mail=m.id, error=outcome.error))
        else:
            failed.append((m.id, outcome.error))
            fx.append(effects.Count("stakeholder_mail", ("failed",)))
            fx.append(
                effects.error(
                    "stakeholder mail failed for good",
                    mail=m.id,
                    incident=m.incident_id,
                    stakeholder=m.stakeholder,
                    error=outcome.error,
                )
            )
    return mail_store.Outcomes(tuple(sent), tuple(retry), tuple(failed), tuple(lines)), fx


class StakeholderMail:
    def __init__(
        self,
        settings: config.Settings,
        outbox: mail_store.Queue,
        clock: clock_mod.Clock,
        metrics: metrics_mod.Metrics,
        notifiers: typing.Mapping[str, typing.Any],
        *,
        safety_interval: datetime.timedelta = SAFETY_INTERVAL,
    ) -> None:
        self.outbox = outbox
        self.clock = clock
        self.metrics = metrics
        self.transport = transport(notifiers)
        section = settings.channel("email")
        self.sender = section[0].from_address if section else "pager@localhost"
        self._safety = safety_interval
        self._wake = asyncio.Event()

    def wake(self, *_: object) -> None:
        self._wake.set()

    async def _send(self, m: mail_store.Queued) -> message.Outcome:
        if self.transport is None:
            return message.Outcome.failed("no email channel is configured (notifiers.email)", permanent=True)
        try:
            return await self.transport.send_mail(compose(m, self.sender))
        except Exception as exc:  # noqa: BLE001 - a transport's bug is retried through the outbox
            log.exception("stakeholder mail transport raised")
            return message.Outcome.failed(f"{type(exc).__name__}: {exc}", permanent=False)

    async def drain(self) -> int:
        """Send every stakeholder email due now; returns how many were leased."""
        total = 0
        while True:
            claimed = await self.outbox.claim(self.clock.now(), BATCH, LEASE)
            total += len(claimed)
            results = await asyncio.gather(*(self._send(m) for m in claimed))
            done = self.clock.now()
            written, fx = outcomes(list(zip(claimed, results)), done)
            await self.outbox.record(written, done)
            effects.emit(fx, self.metrics)
            if len(claimed) < BATCH:
                return total

    async def run(self) -> None:
        await wakeup.forever("stakeholder-mail", self.drain, self.outbox.next_due, self.clock, self._wake, self._safety)
