"""A TCP proxy in front of PostgreSQL that a test can cut and restore, to play a database outage."""

from __future__ import annotations

import asyncio
import contextlib
import typing
import urllib.parse


def _upstream(url: str) -> tuple[str | None, str, int]:
    """(unix socket path or None, host, port) of the server a libpq-style URL names."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parts.query)
    port = parts.port or int(query.get("port", ["5432"])[0])
    host = parts.hostname or query.get("host", ["/var/run/postgresql"])[0]
    if host.startswith("/"):
        return f"{host}/.s.PGSQL.{port}", "", port
    return None, host, port


class Proxy:
    def __init__(self, url: str) -> None:
        self._socket, self._host, self._port = _upstream(url)
        self._url = url
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def url(self) -> str:
        """The same database, reached through the proxy."""
        parts = urllib.parse.urlsplit(self._url)
        user = parts.username or "postgres"
        auth = f"{user}:{parts.password}@" if parts.password else f"{user}@"
        return f"postgresql://{auth}127.0.0.1:{self.port}{parts.path}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Drop every connection and refuse new ones, as a dead database host would."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._links):
            writer.close()
        self._links.clear()

    async def restore(self) -> None:
        await self.start()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if self._socket:
                up_reader, up_writer = await asyncio.open_unix_connection(self._socket)
            else:
                up_reader, up_writer = await asyncio.open_connection(self._host, self._port)
        except OSError:
            writer.close()
            return
        self._links.update((writer, up_writer))
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._links.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()


@contextlib.asynccontextmanager
async def proxy(url: str) -> typing.AsyncIterator[Proxy]:
    p = Proxy(url)
    await p.start()
    try:
        yield p
    finally:
        await p.cut()
