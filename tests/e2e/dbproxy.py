"""Loopback TCP proxies: one in front of PostgreSQL that a test can make refuse connections, and
one per replica in front of the sim, so the sim's request log tells the replicas apart.

Stopping the machine's PostgreSQL server would hit everyone using it; closing this proxy's
listener (and cutting the connections it carries) looks the same to the daemon: connection
refused, as while a server restarts.
"""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy.engine import make_url


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target; `refuse()` and `accept()` toggle it.

    With `source_host` (another loopback address, 127.0.0.0/8), the proxy connects to the target
    from that address, which the target sees as the client's.
    """

    def __init__(
        self, target_host: str, target_port: int, *, source_host: str | None = None
    ) -> None:
        self._target_host = target_host
        self._target_port = target_port
        self._source = (source_host, 0) if source_host else None
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def accept(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def refuse(self) -> None:
        """Close the listener and every connection: new connects get ECONNREFUSED."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(
                self._target_host, self._target_port, local_addr=self._source
            )
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        await asyncio.gather(
            _pipe(reader, up_writer), _pipe(up_reader, writer), return_exceptions=True
        )
        for w in (writer, up_writer):
            self._writers.discard(w)
            w.transport.abort()


class DbProxy(TcpProxy):
    """Forwards 127.0.0.1:<port> to the database in `url`."""

    def __init__(self, url: str) -> None:
        target = make_url(url)
        super().__init__(target.host or "127.0.0.1", target.port or 5432)
        self._url = target

    @property
    def url(self) -> str:
        """The database URL through the proxy."""
        proxied = self._url.set(host="127.0.0.1", port=self.port)
        return proxied.render_as_string(hide_password=False)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.transport.abort()
