"""The shared database fixture: a real PostgreSQL, one fresh database per test.

`PAGER_TEST_DATABASE_URL` names a server to use; without it one embedded
PostgreSQL starts per run. Migrations run once into a template database and
every test gets a clone of it, which takes milliseconds.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import pathlib
import tempfile
import typing
import uuid

import pytest

from pager.store import db, embedded
from tests.support import pg

_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server_url() -> typing.Iterator[str]:
    url = os.environ.get("PAGER_TEST_DATABASE_URL")
    if url:
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="pager-test-pg-") as tmp:
        os.chmod(tmp, 0o755)
        server = embedded.Embedded(pathlib.Path(tmp), delete_on_stop=True)
        try:
            yield server.url
        finally:
            server.stop()


@pytest.fixture(scope="session")
def pg_template(pg_server_url: str) -> typing.Iterator[str]:
    name = f"pager_template_{os.getpid()}"
    asyncio.run(pg.build_template(pg_server_url, name))
    yield name
    asyncio.run(pg.admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def database_url(pg_server_url: str, pg_template: str) -> typing.AsyncIterator[str]:
    """A migrated database of the test's own."""
    name = f"pager_test_{os.getpid()}_{next(_counter)}_{uuid.uuid4().hex[:6]}"
    await pg.admin(pg_server_url, f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    try:
        yield embedded.with_database(pg_server_url, name)
    finally:
        await pg.admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def pool(database_url: str) -> typing.AsyncIterator[db.Pool]:
    p = await db.create_pool(database_url)
    try:
        yield p
    finally:
        await p.close()


@pytest.fixture
def make_client(database_url: str, aiohttp_client: typing.Any) -> typing.Callable[..., typing.Awaitable[typing.Any]]:
    """An HTTP client for a pager app on this test's database; the engine runs only when asked (run_engine=True)."""
    from pager import daemon
    from tests import support

    async def make(settings: typing.Any = None, **kwargs: typing.Any) -> typing.Any:
        kwargs.setdefault("run_engine", False)
        app = daemon.create_app(
            settings or support.settings(), database_url=kwargs.pop("database_url", database_url), **kwargs
        )
        return await aiohttp_client(app)

    return make
