"""Each worker of `serve --workers N` accepts on a socket of its own (SO_REUSEPORT): connections
opened together are spread over the workers, and an address in use is a clear error."""

from __future__ import annotations

import http.client
import io
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from multiprocessing.reduction import ForkingPickler
from pathlib import Path

import pytest

from dailypapers.web.listeners import ListenError, WorkerListener, hold_address
from tests.ports import free_port
from tests.web.conftest import LiveServer
from tests.web.test_server_process import child_pids, wait_for

CONNECTIONS = 32


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port another program listens on (without SO_REUSEPORT)."""
    with closing(socket.socket()) as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


def test_a_worker_gets_a_socket_of_its_own_on_the_same_address() -> None:
    port = free_port()
    held = hold_address("127.0.0.1", port, workers=2)
    assert isinstance(held, WorkerListener)
    with closing(held):
        # What multiprocessing's spawn does with the sockets it hands a worker.
        buffer = io.BytesIO()
        ForkingPickler(buffer).dump(held)
        with closing(ForkingPickler.loads(buffer.getvalue())) as own:
            assert type(own) is socket.socket
            assert own.fileno() != held.fileno()
            assert own.getsockname() == ("127.0.0.1", port)
            assert own.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
            own.listen()
            # The supervisor's socket never listens; a connection reaches the worker's.
            with closing(socket.create_connection(("127.0.0.1", port), timeout=5)):
                accepted, _ = own.accept()
                accepted.close()


@pytest.mark.parametrize("workers", [1, 2])
def test_an_address_in_use_is_named(busy_port: int, workers: int) -> None:
    with pytest.raises(ListenError, match=rf"cannot listen on 127\.0\.0\.1:{busy_port}: "):
        hold_address("127.0.0.1", busy_port, workers=workers)


def test_one_worker_leaves_the_address_to_uvicorn() -> None:
    port = free_port()
    assert hold_address("127.0.0.1", port, workers=1) is None
    with closing(socket.socket()) as uvicorns:  # free again for uvicorn's own socket
        uvicorns.bind(("127.0.0.1", port))


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_on_an_address_in_use_says_so(site_home: Path, busy_port: int, workers: int) -> None:
    command = [sys.executable, "-m", "dailypapers", "-q", "serve", "--no-jobs"]
    command += ["--workers", str(workers), "--port", str(busy_port)]
    done = subprocess.run(
        command,
        env={**os.environ, "DAILYPAPERS_HOME": str(site_home)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert f"error: cannot listen on 127.0.0.1:{busy_port}: Address already in use" in done.stderr
    assert "Traceback" not in done.stderr
    assert "serving on" not in done.stderr


def tcp_sockets(port: int, state: str) -> set[str]:
    """Inodes of the TCP sockets whose local port is `port`, in `state` (01 established, 0A
    listening)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                inodes.add(fields[9])
    return inodes


def sockets_held(pid: int, inodes: set[str]) -> int:
    held = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            held += 1
    return held


def test_connections_opened_together_are_spread_over_the_workers(site_home: Path) -> None:
    server = LiveServer(site_home, workers=2)
    clients: list[http.client.HTTPConnection] = []
    try:
        # The site answers once one worker listens; the other may still be loading.
        wait_for(lambda: len(tcp_sockets(server.port, "0A")) == 2, timeout_s=60)
        # All connected before any request: they wait in the kernel together, as a client
        # pool's or a proxy's connections do when it starts.
        for _ in range(CONNECTIONS):
            client = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            client.connect()
            clients.append(client)
        for client in clients:  # answered, so accepted by a worker
            client.request("GET", "/api/v1/trending")
            response = client.getresponse()
            response.read()
            assert response.status == 200
        inodes = tcp_sockets(server.port, "01")
        held = {pid: sockets_held(pid, inodes) for pid in child_pids(server.process.pid)}
        workers = {pid: count for pid, count in held.items() if count}
        assert sum(workers.values()) == CONNECTIONS, held
        # By the kernel's hash of each connection's addresses: fewer than 4 of 32 on one of
        # two workers has odds of about 3 in a million. One socket for all gave 32/0 and 29/3
        # in two of four tries.
        assert len(workers) == 2 and min(workers.values()) >= 4, held
    finally:
        for client in clients:
            client.close()
        server.stop()
