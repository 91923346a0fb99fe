"""The sender's side of the store: lease pending pages, record what the providers said."""

from __future__ import annotations

import dataclasses
import datetime
import typing

from pager import models
from pager.store import db, sql

Q = sql.QUERIES


@dataclasses.dataclass(frozen=True, slots=True)
class Claimed:
    """A leased page with the incident facts its message needs."""

    id: int
    incident_id: int
    round: int
    step: int
    user_id: str
    channel: str
    address: str
    created_at: datetime.datetime
    attempts: int
    priority: models.Priority
    service: str
    summary: str
    incident_status: str
    annotations: dict[str, typing.Any]
    first_page: bool


@dataclasses.dataclass(frozen=True, slots=True)
class Delivery:
    """A page a delivery report settled: `status` is the page's ('delivered' or 'failed'), `report` the provider's."""

    id: int
    incident_id: int
    user_id: str
    channel: str
    status: str
    report: str
    error: str | None


class Outbox:
    def __init__(self, pool: db.Pool) -> None:
        self.pool = pool

    async def claim(self, now: datetime.datetime, limit: int, lease: datetime.timedelta) -> list[Claimed]:
        """Lease up to `limit` due pages; the lease commits before anything is sent."""
        with db.translate_errors():
            rows = await self.pool.fetch(Q["claim_pages"], now, limit, lease)
        return [Claimed(**{**dict(r), "priority": models.Priority(r["priority"])}) for r in rows]

    async def recent_sends(
        self, channel: str, addresses: list[str], since: datetime.datetime
    ) -> dict[str, tuple[int, datetime.datetime]]:
        with db.translate_errors():
            rows = await self.pool.fetch(Q["recent_sends"], channel, addresses, since)
        return {r["address"]: (r["n"], r["oldest"]) for r in rows}

    async def sent(self, ids_and_provider: list[tuple[int, str | None]], now: datetime.datetime) -> list[Delivery]:
        """Record the sends, and apply the delivery reports that arrived before them (returned as `delivery` would)."""
        ids = [i for i, _ in ids_and_provider]
        providers = [p for _, p in ids_and_provider]
        settled: list[Delivery] = []
        with db.translate_errors():
            async with self.pool.acquire() as conn, conn.transaction():
                await conn.execute(Q["lock_provider_ids"], providers)
                await conn.execute(Q["mark_sent"], ids, now, providers)
                for report in await conn.fetch(Q["take_delivery_reports"], providers):
                    rows = await conn.fetch(
                        Q["record_delivery"],
                        report["provider_id"],
                        report["status"],
                        report["received_at"],
                        report["error"],
                    )
                    settled += [Delivery(**dict(r)) for r in rows]
        return settled

    async def failed(self, ids: list[int], error: str) -> None:
        with db.translate_errors():
            await self.pool.execute(Q["mark_failed"], ids, error)

    async def retry(self, ids: list[int], error: str, not_before: datetime.datetime) -> None:
        with db.translate_errors():
            await self.pool.execute(Q["mark_retry"], ids, error, not_before)

    async def cancel(self, ids: list[int]) -> None:
        with db.translate_errors():
            await self.pool.execute(Q["cancel_pages"], ids)

    async def hold(self, ids: list[int], until: datetime.datetime) -> None:
        with db.translate_errors():
            await self.pool.execute(Q["hold_pages"], ids, until)

    async def fallback(
        self, notification_id: int, channels: list[tuple[str, str]], now: datetime.datetime
    ) -> list[str]:
        """Queue the same page on other channels; returns the channels newly queued."""
        if not channels:
            return []
        with db.translate_errors():
            rows = await self.pool.fetch(
                Q["queue_fallback"], notification_id, now, [c for c, _ in channels], [a for _, a in channels]
            )
            if rows:
                await self.pool.execute(Q["notify_outbox"])
        return [r["channel"] for r in rows]

    async def delivery(
        self, provider_id: str, status: str, error: str | None, now: datetime.datetime
    ) -> list[Delivery]:
        """Record a provider's delivery report on every page the message carried (a bundle has several).

        A report that overtook the send record is kept for `sent` to apply, and settles nothing now."""
        with db.translate_errors():
            async with self.pool.acquire() as conn, conn.transaction():
                await conn.execute(Q["lock_provider_ids"], [provider_id])
                rows = await conn.fetch(Q["record_delivery"], provider_id, status, now, error)
                if not rows:
                    await conn.execute(Q["keep_delivery_report"], provider_id, status, error, now)
        return [Delivery(**dict(r)) for r in rows]

    async def reachable_elsewhere(self, notification_id: int) -> bool:
        with db.translate_errors():
            return bool(await self.pool.fetchval(Q["reachable_elsewhere"], notification_id))

    async def log(self, entries: list[tuple[int, str, str]], now: datetime.datetime) -> None:
        """Timeline lines (incident, kind, message) written by the sender."""
        if not entries:
            return
        with db.translate_errors():
            await self.pool.execute(
                Q["append_log"],
                now,
                "pager",
                [i for i, _, _ in entries],
                [k for _, k, _ in entries],
                [m for _, _, m in entries],
            )

    async def next_due(self) -> datetime.datetime | None:
        with db.translate_errors():
            return await self.pool.fetchval(Q["next_page_due"])
