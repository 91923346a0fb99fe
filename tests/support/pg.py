"""Administering the test PostgreSQL: create and drop databases, build the migrated template."""

from __future__ import annotations

from pager.store import db, embedded, migrate


async def admin(url: str, *statements: str) -> None:
    conn = await db.connect(url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def build_template(server_url: str, name: str) -> None:
    await admin(server_url, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
    conn = await db.connect(embedded.with_database(server_url, name))
    try:
        await migrate.apply(conn)
    finally:
        await conn.close()
