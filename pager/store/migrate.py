"""Schema migrations: ordered plain `.sql` files, each applied once, in its own transaction."""

from __future__ import annotations

import dataclasses
import importlib.resources
import re

import structlog

from pager.store import db

log = structlog.get_logger(__name__)

_LOCK_ID = 0x70616765  # 'page': one migrator at a time across replicas


@dataclasses.dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available() -> list[Migration]:
    folder = importlib.resources.files("pager.store") / "migrations"
    found = []
    for entry in folder.iterdir():
        m = re.fullmatch(r"(\d{4})_([a-z0-9_]+)\.sql", entry.name)
        if m:
            found.append(Migration(int(m[1]), m[2], entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda mig: mig.version)


async def apply(conn: db.Connection) -> list[Migration]:
    """Bring the schema up to date; returns the migrations this call applied."""
    applied: list[Migration] = []
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for mig in available():
            if mig.version in done:
                continue
            async with conn.transaction():
                await conn.execute(mig.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", mig.version, mig.name
                )
            log.info("migration applied", version=mig.version, name=mig.name)
            applied.append(mig)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)
    return applied
