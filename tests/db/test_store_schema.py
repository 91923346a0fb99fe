"""Migrations and named queries against a real PostgreSQL: the schema builds, and every query fits it."""

from __future__ import annotations

import asyncio
import importlib.resources
import re

import pytest
from asyncpg import exceptions as asyncpg_errors

from pager import cli, timeline
from pager.store import db, embedded, migrate, sql
from tests.support import pg


async def test_every_named_query_prepares_against_the_migrated_schema(pool):
    async with pool.acquire() as conn:
        for name, text in sql.QUERIES.items():
            try:
                await conn.prepare(text)
            except Exception as exc:  # noqa: BLE001 - name the query that does not fit
                pytest.fail(f"query {name!r} does not prepare: {exc}")


async def test_migrations_apply_in_order_once(pg_server_url, pg_template):
    name = "pager_fresh_migrations"
    await pg.admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
    conn = await db.connect(embedded.with_database(pg_server_url, name))
    try:
        applied = await migrate.apply(conn)
        assert [m.version for m in applied] == [m.version for m in migrate.available()]
        assert [m.version for m in applied] == sorted(m.version for m in applied)
        assert await migrate.apply(conn) == []  # a second run (another replica starting) changes nothing
        versions = [r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations ORDER BY 1")]
        assert versions == [m.version for m in applied]
    finally:
        await conn.close()
        await pg.admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_migrations_build_exactly_schema_sql(pg_server_url, database_url):
    """schema.sql is where the schema is read; the migrations are how a database gets there."""
    name = "pager_from_schema_sql"
    await pg.admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
    try:
        fresh = await db.connect(embedded.with_database(pg_server_url, name))
        migrated = await db.connect(database_url)
        try:
            await fresh.execute((importlib.resources.files("pager.store") / "schema.sql").read_text())
            want = await pg.catalog(migrated, skip_tables=("schema_migrations",))
            got = await pg.catalog(fresh)
        finally:
            await fresh.close()
            await migrated.close()
        missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
        assert not missing and not extra, (
            "schema.sql differs from what the migrations build.\n"
            + "".join(f"  only in migrations: {line}\n" for line in missing)
            + "".join(f"  only in schema.sql: {line}\n" for line in extra)
        )
    finally:
        await pg.admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_pager_migrate_brings_an_empty_database_up_to_date(pg_server_url, tmp_path, monkeypatch, capsys):
    name = "pager_cli_migrate"
    await pg.admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
    try:
        config_file = tmp_path / "pager.yaml"
        config_file.write_text("database: {url_env: TEST_PAGER_DB}\n")
        monkeypatch.setenv("TEST_PAGER_DB", embedded.with_database(pg_server_url, name))
        monkeypatch.setattr(cli.logs, "configure", lambda **_: None)
        # cli.main runs its own event loop, so it runs in a thread here
        code = await asyncio.to_thread(cli.main, ["migrate", "--config", str(config_file)])
        assert code == 0
        assert "up to date" in capsys.readouterr().out
        conn = await db.connect(embedded.with_database(pg_server_url, name))
        try:
            tables = {
                r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            }
        finally:
            await conn.close()
        assert {"incidents", "alerts", "alert_events", "incident_log", "notifications", "ack_tokens"} <= tables
    finally:
        await pg.admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_the_timeline_accepts_exactly_the_kinds_pager_timeline_names(pool):
    """One list of kinds: the table's constraint and pager/timeline.py say the same, and a stray kind is refused."""
    definition = await pool.fetchval(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'incident_log_kind_check'"
    )
    assert set(re.findall(r"'([a-z_]+)'", definition)) == {k.value for k in timeline.Kind}
    inc = await pool.fetchval(
        "INSERT INTO incidents (service, dedup_key, priority, summary, created_at, last_seen_at)"
        " VALUES ('web', 'k', 0, 's', now(), now()) RETURNING id"
    )
    with pytest.raises(asyncpg_errors.CheckViolationError):
        await pool.execute(
            "INSERT INTO incident_log (incident_id, at, kind, message) VALUES ($1, now(), 'made_up', 'x')", inc
        )
