"""The outbox sender: leases queued pages, bundles and throttles them, sends, and records what happened.

Each batch goes load → decide → write, twice around the send:
  1. lease due pages (committed before anything is sent: a sender that dies
     mid-send leaves its pages to be sent again when the lease runs out) and
     read the throttle's recent sends; decide (pure: `bundle`, `throttle`) what
     is stale, held or sent; write the cancels, holds and ack tokens;
  2. send each bundle on its channel, concurrently;
  3. decide (pure: `settle`) what each answer means; write sends, retries,
     failures and their fallback in one transaction; then emit metrics and wake.

Two lanes run side by side, as in the engine: one leases P0/P1 pages, the
other P2/P3, so a P0 never waits behind a batch of slow P3 email, and P3 pages
still go out in order on their own. A page that fails for good goes out on the user's other
channels; nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import datetime
import typing

import structlog

from pager import ack, channels, config, effects, plan, timeline, wakeup
from pager import clock as clock_mod
from pager import lanes as lanes_mod
from pager import metrics as metrics_mod
from pager.notify import message
from pager.sender import bundle as bundle_mod
from pager.sender import settle, throttle
from pager.store import outbox as outbox_store

log = structlog.get_logger(__name__)

LEASE = datetime.timedelta(seconds=90)  # longer than a notifier's own retry deadline
SAFETY_INTERVAL = datetime.timedelta(seconds=30)
BATCH = 100
MAX_ATTEMPTS = settle.MAX_ATTEMPTS
STRAGGLER_GRACE = datetime.timedelta(seconds=1)
"""How long a batch waits for its slowest send before the lane goes on (a hanging provider's send goes on too)."""
MAX_STRAGGLERS = 1000
retry_delay = settle.retry_delay


class Sender:
    def __init__(
        self,
        settings: config.Settings,
        outbox: outbox_store.Outbox,
        clock: clock_mod.Clock,
        metrics: metrics_mod.Metrics,
        notifiers: dict[str, message.Notifier],
        *,
        throttles: dict[str, channels.Throttle] | None = None,
        safety_interval: datetime.timedelta = SAFETY_INTERVAL,
    ) -> None:
        self.settings = settings
        self.outbox = outbox
        self.clock = clock
        self.metrics = metrics
        self.notifiers = notifiers
        if throttles is None:
            throttles = {name: s.throttle for name, s in channels.REGISTRY.items() if s.throttle is not None}
        self.throttles = throttles
        self._safety = safety_interval
        self._wake = {lane: asyncio.Event() for lane in lanes_mod.LANES}
        self._stragglers: set[asyncio.Future[None]] = set()

    def wake(self, payload: str = "") -> None:
        """Wake the lanes a NOTIFY payload names (pager.lanes.named); every lane when called bare."""
        for lane in lanes_mod.named(payload):
            self._wake[lane].set()

    def _name(self, user_id: str) -> str:
        user = self.settings.config.user(user_id)
        return user.display_name if user else user_id

    def _options(self, page: outbox_store.Delivery) -> list[tuple[str, str]]:
        """The other channels (enabled, with an address) a failed page may fall back to, in the registry's order."""
        user = self.settings.config.user(page.user_id)
        if user is None:
            return []
        return [
            (channel, address)
            for channel in self.notifiers
            if channel != page.channel and (address := user.address(channel))
        ]

    def _emit(self, fx: typing.Iterable[effects.Effect]) -> None:
        effects.emit(fx, self.metrics, {"sender": self.wake})

    async def drain(self) -> int:
        """Send every page due now, the P0/P1 lane first, and wait for every send; returns how many were leased."""
        total = await self._drain(urgent=True, grace=None) + await self._drain(urgent=False, grace=None)
        while self._stragglers:
            await asyncio.gather(*list(self._stragglers))
        return total

    async def _drain(self, urgent: bool, grace: float | None = STRAGGLER_GRACE.total_seconds()) -> int:
        """One lane's due pages, batch by batch. A batch waits `grace` for its sends; a send still going
        then (a provider hanging) is recorded when it ends, and the lane moves on to other people's pages."""
        total = 0
        while True:
            now = self.clock.now()
            claimed = await self.outbox.claim(now, BATCH, LEASE, urgent=urgent)
            total += len(claimed)
            stale, bundles = bundle_mod.split(claimed)
            recent = await self._recent(bundles, now)
            send, prepared, fx = self._prepare(stale, bundles, recent, now)
            await self.outbox.prepare(prepared, now)
            self._emit(fx)
            sending = {asyncio.ensure_future(self._send(b, token)): b for b, token in send}
            done: set[asyncio.Future[message.Outcome]] = set()
            if sending:
                if len(self._stragglers) >= MAX_STRAGGLERS:
                    grace = None  # too much in flight already: this batch waits for its own sends
                done, late = await asyncio.wait(sending, timeout=grace)
                for task in late:
                    self._straggle(sending[task], task)
            await self._record([(sending[t], t.result()) for t in sending if t in done])
            if len(claimed) < BATCH:
                return total

    def _straggle(self, b: bundle_mod.Bundle, task: asyncio.Future[message.Outcome]) -> None:
        async def record() -> None:
            outcome = await task
            try:
                await self._record([(b, outcome)])
            except Exception:  # noqa: BLE001 - the lease runs out and the page is sent again
                log.exception("recording a slow send failed", channel=b.channel)

        late = asyncio.ensure_future(record())
        self._stragglers.add(late)
        late.add_done_callback(self._stragglers.discard)

    async def _recent(
        self, bundles: list[bundle_mod.Bundle], now: datetime.datetime
    ) -> dict[tuple[str, str], list[outbox_store.Sent]]:
        """The throttle's load: recent messages to each contact a held page could be bound for."""
        recent: dict[tuple[str, str], list[outbox_store.Sent]] = {}
        for channel, limit in self.throttles.items():
            addresses = [b.address for b in bundles if b.channel == channel and not b.first_page]
            for s in await self.outbox.recent_sends(channel, addresses, now - limit.window):
                recent.setdefault((channel, s.address), []).append(s)
        return recent

    def _prepare(
        self,
        stale: list[int],
        bundles: list[bundle_mod.Bundle],
        recent: dict[tuple[str, str], list[outbox_store.Sent]],
        now: datetime.datetime,
    ) -> tuple[list[tuple[bundle_mod.Bundle, str]], outbox_store.Prepared, list[effects.Effect]]:
        """Which bundles go now (each with a fresh ack token), which are held, and what that writes."""
        send: list[tuple[bundle_mod.Bundle, str]] = []
        hold: list[tuple[int, datetime.datetime]] = []
        lines: list[plan.Line] = []
        fx: list[effects.Effect] = []
        for b in bundles:
            limit = self.throttles.get(b.channel)
            until = None
            if limit is not None:
                until = throttle.held_until(
                    b.first_page, b.priority, recent.get((b.channel, b.address), []), limit, now
                )
            if until is None:
                send.append((b, ack.new_token()))
                continue
            hold += [(i, until) for i in b.ids]
            fx.append(effects.Count("notifications", (b.channel, "throttled"), len(b.rows)))
            fx.append(effects.warning("page held by throttle", channel=b.channel, user=b.user_id, pages=len(b.rows)))
            minutes = int(limit.window.total_seconds() // 60) if limit else 0
            lines += [
                plan.Line(
                    r.incident_id,
                    timeline.Kind.PAGE_HELD,
                    f"Page to {self._name(r.user_id)} by {b.channel} held by the per-contact limit "
                    f"({limit.limit if limit else 0} per {minutes} min) until {until:%H:%M:%S} UTC; "
                    "it will be bundled into the next message",
                )
                for r in b.rows
            ]
        tokens = tuple((ack.hash_token(token), b.rows[0].incident_id, b.user_id) for b, token in send)
        return send, outbox_store.Prepared(tuple(stale), tuple(hold), tokens, tuple(lines)), fx

    async def _send(self, b: bundle_mod.Bundle, token: str) -> message.Outcome:
        """The edge: one message on its channel. A notifier's bug is a temporary failure, never a lost page."""
        notifier = self.notifiers.get(b.channel)
        if notifier is None:
            return message.Outcome.failed(f"the {b.channel} channel is not enabled", permanent=True)
        if b.rows[0].opted_out:
            return message.Outcome.failed(
                f"{b.address} replied STOP and gets no SMS until it replies START", permanent=True
            )
        msg = bundle_mod.compose(b, self._name(b.user_id), self.settings.config.server.base_url(), token)
        try:
            return await notifier.send(msg)
        except Exception as exc:  # noqa: BLE001 - retried later through the outbox
            log.exception("notifier raised", channel=b.channel)
            return message.Outcome.failed(f"{type(exc).__name__}: {exc}", permanent=False)

    async def _record(self, results: list[tuple[bundle_mod.Bundle, message.Outcome]]) -> None:
        done = self.clock.now()
        outcomes, lost, fx = settle.outcomes(results, self._name, done)
        if not (outcomes.sent or outcomes.retry or outcomes.failed):
            return
        later: list[effects.Effect] = []

        def settled(reports: list[outbox_store.Delivery], fallback: outbox_store.Fallback) -> list[plan.Line]:
            lines, more = settle.settled(reports, fallback, self._name)
            later.extend(more)
            return lines

        fallback = await self.outbox.record(outcomes, lost, done, self._options, settled)
        self._emit([*fx, *later, *([effects.Wake("sender")] if fallback.queued else [])])

    async def delivery(self, provider_id: str, status: str, error: str | None) -> list[outbox_store.Delivery]:
        """A provider's delivery report: delivered, or undelivered/failed → fall back to another channel.

        A report that overtakes the send record settles nothing here; `_record` settles it once recorded."""
        later: list[effects.Effect] = []

        def settled(reports: list[outbox_store.Delivery], fallback: outbox_store.Fallback) -> list[plan.Line]:
            lines, more = settle.settled(reports, fallback, self._name)
            later.extend(more)
            if fallback.queued:
                later.append(effects.Wake("sender"))
            return lines

        reports = await self.outbox.delivery(provider_id, status, error, self.clock.now(), self._options, settled)
        self._emit(later)
        return reports

    async def run(self, lanes: typing.Collection[str] = tuple(lanes_mod.LANES)) -> None:
        await wakeup.lanes(
            "sender",
            self._drain,
            lambda urgent: self.outbox.next_due(urgent=urgent),
            self.clock,
            self._wake,
            self._safety,
            lanes,
        )

    async def aclose(self) -> None:
        for late in list(self._stragglers):
            late.cancel()
        for notifier in self.notifiers.values():
            await notifier.aclose()
