"""`serve`'s HTTP protocol turns Nagle's algorithm off on every connection, also where the
listening socket does not say it is TCP, as uvicorn's socket for several workers does not
(then a response's last part waited for the client's delayed acknowledgement, ~40 ms)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from dailypapers.web.protocol import PROTOCOL, NoDelayHttpToolsProtocol


async def _app(_scope: dict[str, Any], _receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _nodelay_of_a_connection(protocol: type[HttpToolsProtocol]) -> int:
    """TCP_NODELAY of the server side of one connection accepted through `protocol`."""

    async def main() -> int:
        config = uvicorn.Config(_app, http=protocol, log_level="warning")
        config.load()
        state = ServerState()
        seen: asyncio.Queue[int] = asyncio.Queue()

        class Watched(protocol):  # type: ignore[valid-type,misc]
            def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
                super().connection_made(transport)
                connection = transport.get_extra_info("socket")
                seen.put_nowait(connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

        listener = socket.socket(socket.AF_INET)  # as uvicorn binds it for several workers
        listener.bind(("127.0.0.1", 0))
        assert listener.proto != socket.IPPROTO_TCP
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: Watched(config=config, server_state=state, app_state={}), sock=listener
        )
        try:
            _, writer = await asyncio.open_connection(*listener.getsockname())
            value = await asyncio.wait_for(seen.get(), 10)
            writer.close()
            return value
        finally:
            server.close()
            await server.wait_closed()

    return asyncio.run(main())


def test_every_connection_sends_without_delay_whatever_socket_it_came_from() -> None:
    assert _nodelay_of_a_connection(HttpToolsProtocol) == 0  # asyncio left it on: the cause
    assert _nodelay_of_a_connection(NoDelayHttpToolsProtocol) != 0
    assert uvicorn.importer.import_from_string(PROTOCOL) is NoDelayHttpToolsProtocol
