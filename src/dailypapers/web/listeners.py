"""Listening sockets for several workers: each worker accepts on a socket of its own, all in
one SO_REUSEPORT group, so the kernel spreads new connections over the workers.

uvicorn's supervisor binds one socket and every worker accepts from it. A worker woken by a new
connection takes every connection waiting (asyncio accepts up to the backlog at once), so a
burst of connections, such as the keep-alive connections a proxy or a client pool opens
together, mostly lands on one worker. Measured with `serve --workers 2` and 16 connections
opened at once, six times: 15/1, 16/0, 14/2, 15/1, 9/7 and 8/8. A worker serves its connections
on one core (Python's lock), so with all of them one worker's core does the work of two:
fresh searches ran at 85-88 requests/s instead of 146-158 (BENCHMARKS.md).

Here the supervisor still binds the address (an address in use is an error before any worker
starts) but never listens on it; each worker, started by multiprocessing's spawn, unpickles
that socket as a new one bound to the same address with SO_REUSEPORT, and listens on it. The
kernel hands each new connection to one of the listening sockets by a hash of its addresses.
A restarted worker binds a new one the same way.
"""

from __future__ import annotations

import socket
from typing import Any, TypeVar

import uvicorn
from uvicorn.supervisors import Multiprocess

S = TypeVar("S", bound=socket.socket)


class ListenError(RuntimeError):
    """The address cannot be listened on (in use, not this machine's, not allowed)."""


class WorkerListener(socket.socket):
    """The supervisor's hold on the address: bound, not listening. Pickled to a worker, it
    becomes that worker's own socket on the same address (`_worker_socket`)."""

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        host, port = self.getsockname()[:2]
        return (_worker_socket, (self.family, host, port))


def _worker_socket(family: socket.AddressFamily, host: str, port: int) -> socket.socket:
    """A worker's own socket on the held address (what a WorkerListener unpickles as)."""
    return _bind(family, host, port, kind=socket.socket, reuse_port=True)


def _bind(
    family: socket.AddressFamily, host: str, port: int, *, kind: type[S], reuse_port: bool
) -> S:
    sock = kind(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise ListenError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    return sock


def hold_address(host: str, port: int, *, workers: int) -> WorkerListener | None:
    """The address held for `workers` workers to listen on each with a socket of its own;
    None where uvicorn binds its own socket (one worker, or no SO_REUSEPORT on this system),
    once this process has found that it can. ListenError if the address cannot be had."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    spread = workers > 1 and hasattr(socket, "SO_REUSEPORT")
    held = _bind(family, host, port, kind=WorkerListener, reuse_port=spread)
    if spread:
        return held
    held.close()  # found now, with the same clear error, before anything starts
    return None


def run(app: str, held: WorkerListener | None, **options: Any) -> None:
    """Serve the ASGI app `app` (an import string) as uvicorn.run does; with an address held
    by `hold_address`, under uvicorn's supervisor (restarts, signals, health checks) with
    each worker accepting on its own socket."""
    if held is None:
        uvicorn.run(app, **options)
        return
    try:
        Multiprocess(uvicorn.Config(app, **options), sockets=[held]).run()
    except KeyboardInterrupt:
        pass
    finally:
        held.close()
