"""The outbound lane: an incident's news to webhooks and Slack, beside the page lanes and never in their way.

Same shape as the page lanes: fan queued events out to their targets (pure:
`news.targets`), lease due deliveries, post them concurrently, then write what
each answer means (pure: `news.settle`) in one transaction and emit after
COMMIT. It has its own tables, claims, loop and wake-up, so a webhook that
times out or answers 500 for an hour costs a page nothing: pages are leased
by the other lanes from the other table.
"""

from __future__ import annotations

import asyncio
import datetime
import typing

import structlog

from pager import clock as clock_mod
from pager import config, effects, wakeup
from pager import metrics as metrics_mod
from pager.notify import message
from pager.sender import news as news_mod
from pager.store import deliveries

log = structlog.get_logger(__name__)

LEASE = datetime.timedelta(seconds=90)
SAFETY_INTERVAL = datetime.timedelta(seconds=30)
BATCH = 50


class Outbound:
    def __init__(
        self,
        settings: config.Settings,
        store: deliveries.Deliveries,
        clock: clock_mod.Clock,
        metrics: metrics_mod.Metrics,
        posters: dict[str, message.Poster],
        *,
        safety_interval: datetime.timedelta = SAFETY_INTERVAL,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self.posters = posters  # target ('webhook:<id>', 'slack') → poster
        self._safety = safety_interval
        self._wake = asyncio.Event()

    def wake(self, *_: object) -> None:
        self._wake.set()

    def _targets(self, events: list[deliveries.Event]) -> list[deliveries.Target]:
        return news_mod.targets(events, self.settings)

    def _slack_channel(self, d: deliveries.Claimed) -> str | None:
        service = self.settings.config.service(d.incident.service)
        return service.slack_channel if service else None

    def _news(self, d: deliveries.Claimed) -> message.News:
        cfg = self.settings.config
        ids = {d.incident.acknowledged_by, d.incident.resolved_by, d.entry.actor} - {None}
        people = {i: u.display_name for i in ids if i and (u := cfg.user(i)) is not None}
        return message.News(d.id, d.event, d.incident, d.entry, people, self._slack_channel(d), d.slack)

    async def _post(self, d: deliveries.Claimed) -> message.Outcome:
        poster = self.posters.get(d.target)
        if poster is None:
            return message.Outcome.failed(f"{d.target} is not configured (any more)", permanent=True)
        try:
            return await poster.post(self._news(d))
        except Exception as exc:  # noqa: BLE001 - a poster's bug is retried later, never a lost delivery
            log.exception("poster raised", target=d.target)
            return message.Outcome.failed(f"{type(exc).__name__}: {exc}", permanent=False)

    async def drain(self) -> int:
        """Fan out every queued event and post every due delivery; returns how many deliveries were leased."""
        total = 0
        while True:
            now = self.clock.now()
            fanned = await self.store.fan_out(now, BATCH * 4, self._targets)
            claimed = await self.store.claim(now, BATCH, LEASE)
            total += len(claimed)
            if claimed:
                results = await asyncio.gather(*(self._post(d) for d in claimed))
                outcomes, fx = news_mod.settle(list(zip(claimed, results)), self._slack_channel, self.clock.now())
                await self.store.record(outcomes, self.clock.now())
                effects.emit(fx, self.metrics)
            if fanned < BATCH * 4 and len(claimed) < BATCH:
                return total

    async def next_due(self) -> datetime.datetime | None:
        return await self.store.next_due(self.clock.now())

    async def start(self) -> None:
        """Tell the database which news this replica's configuration follows."""
        await self.store.follow(news_mod.followed(self.settings))

    async def run(self) -> None:
        if not self.posters:
            # No webhook and no Slack here: nothing this replica could post, so it claims nothing (a
            # replica configured with targets takes the events) and costs no query per incident.
            log.info("outbound lane idle: no webhook or Slack channel configured")
            return
        await wakeup.forever("sender:outbound", self.drain, self.next_due, self.clock, self._wake, self._safety)

    async def aclose(self) -> None:
        for target, poster in self.posters.items():
            if target.startswith("webhook:"):
                await poster.aclose()


def posters(
    settings: config.Settings, notifiers: typing.Mapping[str, typing.Any], clock: clock_mod.Clock
) -> dict[str, message.Poster]:
    """Every target news may go to: each enabled webhook, and Slack when its channel is on."""
    from pager.notify import webhook

    out: dict[str, message.Poster] = {
        f"webhook:{hook.id}": webhook.build(hook, url, secret, clock.now) for hook, url, secret in settings.webhooks()
    }
    if "slack" in notifiers:
        out["slack"] = notifiers["slack"]
    return out
