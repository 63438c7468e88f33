"""The HTTP protocol `serve` runs: uvicorn's httptools protocol, with Nagle's algorithm off on
every connection.

asyncio turns Nagle off only on sockets that say they are TCP (`proto == IPPROTO_TCP`), and the
listening socket uvicorn makes for several workers does not say so (`socket.socket(family)`):
each worker's connections kept Nagle on. A response goes out in two writes (its headers, then
its body); the body's last part then waited for the client to acknowledge the headers, which a
client delays up to 40 ms. Every response whose body fit in one segment took about 44 ms on an
idle server: 360 requests/s over 16 connections for a 21 KB stylesheet, against thousands.
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# What `serve` passes to uvicorn as `http` (workers import it by this name).
PROTOCOL = "dailypapers.web.protocol:NoDelayHttpToolsProtocol"


class NoDelayHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol; each connection's socket sends without delay."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        connection = transport.get_extra_info("socket")
        if connection is not None and connection.family in (socket.AF_INET, socket.AF_INET6):
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
