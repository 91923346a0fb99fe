"""The outbox sender: leases queued pages, bundles them per contact, sends, and records what happened.

At-least-once: a lease is committed before sending, so a sender that dies
mid-send leaves the page to be sent again when the lease runs out. A page
that fails for good is written to the timeline and goes out on the user's
other channels; nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import typing

import structlog

from pager import ack, config, wakeup
from pager import clock as clock_mod
from pager import metrics as metrics_mod
from pager.notify import console, email, message, sms
from pager.store import acks as acks_store
from pager.store import db
from pager.store import outbox as outbox_store

log = structlog.get_logger(__name__)

LEASE = datetime.timedelta(seconds=90)  # longer than a notifier's own retry deadline
MAX_ATTEMPTS = 8
SAFETY_INTERVAL = datetime.timedelta(seconds=30)
BATCH = 100


@dataclasses.dataclass(frozen=True)
class Throttle:
    """At most `limit` messages per `window` to one contact on a channel (GoAlert: 5 SMS per 15 min)."""

    limit: int = 5
    window: datetime.timedelta = datetime.timedelta(minutes=15)


THROTTLES = {"sms": Throttle()}


def build_notifiers(settings: config.Settings) -> dict[str, message.Notifier]:
    """One notifier per enabled channel, built from the config and its secrets."""
    cfg, secrets = settings.config, settings.secrets
    notifiers: dict[str, message.Notifier] = {}
    if settings.sms_enabled:
        s = cfg.notifiers.sms
        assert s is not None and secrets.twilio_account_sid and secrets.twilio_auth_token
        notifiers["sms"] = sms.TwilioSms(
            account_sid=secrets.twilio_account_sid,
            auth_token=secrets.twilio_auth_token,
            from_number=s.from_number,
            messaging_service_sid=s.messaging_service_sid,
            api_base=s.api_base,
            public_url=cfg.server.public_url,
        )
    if settings.email_enabled:
        e = cfg.notifiers.email
        assert e is not None
        notifiers["email"] = email.SmtpEmail(
            host=e.host,
            port=e.port,
            sender=e.from_address,
            username=secrets.smtp_username,
            password=secrets.smtp_password,
            starttls=e.starttls,
            tls=e.tls,
            retry=dataclasses.replace(message.DEFAULT_RETRY, attempt_timeout=e.timeout),
        )
    if cfg.notifiers.console.enabled:
        notifiers["console"] = console.ConsoleNotifier()
    return notifiers


def retry_delay(attempts: int) -> datetime.timedelta:
    return datetime.timedelta(seconds=min(5 * 2 ** max(attempts - 1, 0), 300))


class Sender:
    def __init__(
        self,
        settings: config.Settings,
        outbox: outbox_store.Outbox,
        acks: acks_store.Acks,
        clock: clock_mod.Clock,
        metrics: metrics_mod.Metrics,
        notifiers: dict[str, message.Notifier],
        *,
        throttles: dict[str, Throttle] | None = None,
        safety_interval: datetime.timedelta = SAFETY_INTERVAL,
    ) -> None:
        self.settings = settings
        self.outbox = outbox
        self.acks = acks
        self.clock = clock
        self.metrics = metrics
        self.notifiers = notifiers
        self.throttles = THROTTLES if throttles is None else throttles
        self._safety = safety_interval
        self._wake = asyncio.Event()

    def wake(self, *_: object) -> None:
        self._wake.set()

    def _name(self, user_id: str) -> str:
        user = self.settings.config.user(user_id)
        return user.display_name if user else user_id

    async def drain(self) -> int:
        """Send every page due now; returns how many pages were leased."""
        total = 0
        while True:
            now = self.clock.now()
            claimed = await self.outbox.claim(now, BATCH, LEASE)
            total += len(claimed)
            live: list[outbox_store.Claimed] = []
            stale: list[int] = []
            for c in claimed:  # an incident acknowledged since the page was queued gets no page
                if c.incident_status == "triggered" or c.step < 0:
                    live.append(c)
                else:
                    stale.append(c.id)
            if stale:
                await self.outbox.cancel(stale)
            bundles: dict[tuple[str, str], list[outbox_store.Claimed]] = {}
            for c in live:
                bundles.setdefault((c.channel, c.address), []).append(c)
            held = await self._throttle(bundles, now)
            entries: list[tuple[int, str, str]] = []
            results = await asyncio.gather(*(self._send(rows, now) for key, rows in bundles.items() if key not in held))
            for lines in results:
                entries += lines
            entries += [line for lines in held.values() for line in lines]
            await self.outbox.log(entries, self.clock.now())
            if len(claimed) < BATCH:
                return total

    async def _throttle(
        self, bundles: dict[tuple[str, str], list[outbox_store.Claimed]], now: datetime.datetime
    ) -> dict[tuple[str, str], list[tuple[int, str, str]]]:
        """Hold bundles to contacts over their limit; the first page of an incident is never held."""
        held: dict[tuple[str, str], list[tuple[int, str, str]]] = {}
        for channel, throttle in self.throttles.items():
            # A bundle holding an incident's first page is never held: no need to count its sends.
            addresses = [a for (c, a), rows in bundles.items() if c == channel and not any(r.first_page for r in rows)]
            if not addresses:
                continue
            recent = await self.outbox.recent_sends(channel, addresses, now - throttle.window)
            for address, (count, oldest) in recent.items():
                rows = bundles[(channel, address)]
                if count < throttle.limit or any(r.first_page for r in rows):
                    continue
                until = oldest + throttle.window
                await self.outbox.hold([r.id for r in rows], until)
                self.metrics.notifications.labels(channel, "throttled").inc(len(rows))
                name = self._name(rows[0].user_id)
                held[(channel, address)] = [
                    (
                        r.incident_id,
                        "page_held",
                        f"Page to {name} by {channel} held by the per-contact limit ({throttle.limit} per "
                        f"{int(throttle.window.total_seconds() // 60)} min) until {until:%H:%M:%S} UTC; "
                        f"it will be bundled into the next message",
                    )
                    for r in rows
                ]
                log.warning("page held by throttle", channel=channel, user=rows[0].user_id, pages=len(rows))
        return held

    async def _message(self, rows: list[outbox_store.Claimed], now: datetime.datetime) -> message.Message:
        rows = sorted(rows, key=lambda r: (r.priority, r.incident_id))
        first = rows[0]
        others: dict[int, str] = {}
        for r in rows[1:]:
            if r.incident_id != first.incident_id:
                others.setdefault(r.incident_id, r.summary)
        token = await self.acks.issue(first.incident_id, first.user_id, now)
        runbook = first.annotations.get("runbook_url") if isinstance(first.annotations, dict) else None
        return message.Message(
            incident_id=first.incident_id,
            number=first.incident_id,
            priority=first.priority,
            service=first.service,
            summary=first.summary,
            user_id=first.user_id,
            user_name=self._name(first.user_id),
            channel=first.channel,
            address=first.address,
            ack_url=ack.ack_url(self.settings.config.server.base_url(), token),
            runbook_url=runbook if isinstance(runbook, str) else None,
            more=tuple(others.items()),
        )

    async def _send(self, rows: list[outbox_store.Claimed], now: datetime.datetime) -> list[tuple[int, str, str]]:
        channel, name = rows[0].channel, self._name(rows[0].user_id)
        ids = [r.id for r in rows]
        incidents = sorted({r.incident_id for r in rows})
        notifier = self.notifiers.get(channel)
        try:
            if notifier is None:
                outcome = message.Outcome.failed(f"the {channel} channel is not enabled", permanent=True)
            else:
                outcome = await notifier.send(await self._message(rows, now))
        except db.Unavailable:
            raise
        except Exception as exc:  # a notifier bug must not lose the page: retry it later
            log.exception("notifier raised", channel=channel)
            outcome = message.Outcome.failed(f"{type(exc).__name__}: {exc}", permanent=False)
        done = self.clock.now()
        if outcome.ok:
            overtaken = await self.outbox.sent([(i, outcome.provider_id) for i in ids], done)
            self.metrics.notifications.labels(channel, "sent").inc(len(rows))
            for r in rows:
                self.metrics.notification_delay.labels(channel).observe(max((done - r.created_at).total_seconds(), 0))
            bundled = f" (bundled with #{', #'.join(map(str, incidents[1:]))})" if len(incidents) > 1 else ""
            lines = [(i, "paged", f"Paged {name} by {channel}{bundled}") for i in incidents]
            return lines + await self._settled(overtaken, done)
        attempts = max(r.attempts for r in rows)
        if not outcome.permanent and attempts < MAX_ATTEMPTS:
            delay = retry_delay(attempts)
            await self.outbox.retry(ids, outcome.error, done + delay)
            self.metrics.notifications.labels(channel, "retry").inc(len(rows))
            log.warning(
                "page failed; will retry",
                channel=channel,
                user=rows[0].user_id,
                error=outcome.error,
                attempts=attempts,
                retry_in=delay.total_seconds(),
            )
            return [
                (
                    i,
                    "page_retry",
                    f"Page to {name} by {channel} failed ({outcome.error}); retrying in {int(delay.total_seconds())}s",
                )
                for i in incidents
            ]
        await self.outbox.failed(ids, outcome.error)
        self.metrics.notifications.labels(channel, "failed").inc(len(rows))
        lines = [(i, "page_failed", f"Page to {name} by {channel} failed: {outcome.error}") for i in incidents]
        return lines + await self._fall_back(rows, channel, done)

    async def _fall_back(
        self, rows: typing.Sequence[typing.Any], failed_channel: str, now: datetime.datetime
    ) -> list[tuple[int, str, str]]:
        """Queue the same pages on the user's other channels; loud when there is none."""
        user = self.settings.config.user(rows[0].user_id)
        others = []
        if user is not None:
            for channel in self.notifiers:
                address = user.address(channel)
                if channel != failed_channel and address:
                    others.append((channel, address))
        lines = []
        for r in rows:
            queued = await self.outbox.fallback(r.id, others, now)
            if queued:
                self.metrics.notifications.labels(failed_channel, "fallback").inc()
                lines.append(
                    (r.incident_id, "page_fallback", f"Falling back to {', '.join(queued)} for {self._name(r.user_id)}")
                )
            elif not await self.outbox.reachable_elsewhere(r.id):
                log.error(
                    "page could not be delivered on any channel",
                    incident=r.incident_id,
                    user=r.user_id,
                    channel=failed_channel,
                )
                lines.append(
                    (
                        r.incident_id,
                        "page_undeliverable",
                        f"{self._name(r.user_id)} could not be reached: every channel failed"
                        if others
                        else f"{self._name(r.user_id)} could not be reached: no other channel to fall back to",
                    )
                )
        self.wake()
        return lines

    async def delivery(self, provider_id: str, status: str, error: str | None) -> list[outbox_store.Delivery]:
        """A provider's delivery report: delivered, or undelivered/failed → fall back to another channel.

        A report that overtakes the send record settles nothing here; `_send` settles it once recorded."""
        now = self.clock.now()
        reports = await self.outbox.delivery(provider_id, status, error, now)
        await self.outbox.log(await self._settled(reports, now), now)
        return reports

    async def _settled(
        self, reports: list[outbox_store.Delivery], now: datetime.datetime
    ) -> list[tuple[int, str, str]]:
        """Count the pages a delivery report settled; those not delivered go out on the user's other channels."""
        failed = [r for r in reports if r.status != "delivered"]
        for r in reports:
            self.metrics.notifications.labels(
                r.channel, "delivered" if r.status == "delivered" else "undelivered"
            ).inc()
        if not failed:
            return []
        lines = [
            (
                r.incident_id,
                "page_undelivered",
                f"{r.channel} to {self._name(r.user_id)} was not delivered ({r.error or r.report})",
            )
            for r in failed
        ]
        return lines + await self._fall_back(failed, failed[0].channel, now)

    async def run(self) -> None:
        await wakeup.forever("sender", self.drain, self.outbox.next_due, self.clock, self._wake, self._safety)

    async def aclose(self) -> None:
        for notifier in self.notifiers.values():
            await notifier.aclose()
