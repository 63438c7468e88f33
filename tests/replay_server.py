"""A real local HTTP server that replays recorded upstream responses, with scripted faults.

Routes match on the path and on query parameters; each route plays a script of actions in
order and repeats the last one, so `[status_reply(503, retry_after="2"), file_reply(page)]`
means "one 503, then the page for ever". Every request received is recorded with its time so
tests can check retries, resumption parameters and rate-limit spacing.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

XML = "application/xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
JSON = "application/json; charset=utf-8"

QueryPairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Reply:
    """A complete response."""

    status: int = 200
    body: bytes = b""
    content_type: str = XML
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class DropMidBody:
    """Announce the whole body in Content-Length, send half of it, then close the socket."""

    body: bytes
    content_type: str = XML


@dataclass(frozen=True)
class Delay:
    """Wait before answering (longer than the client's read timeout to provoke one)."""

    seconds: float
    then: Reply = field(default_factory=Reply)


Action = Reply | DropMidBody | Delay


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the server saw it; `at` is `time.monotonic()` on arrival."""

    path: str
    query: QueryPairs
    at: float
    user_agent: str

    @property
    def params(self) -> dict[str, str]:
        return dict(self.query)


def file_reply(path: Path, *, content_type: str = XML) -> Reply:
    """A 200 response carrying a recorded file verbatim."""
    return Reply(body=path.read_bytes(), content_type=content_type)


def status_reply(status: int, *, retry_after: str | None = None) -> Reply:
    """An error status with a short text body and optionally a Retry-After header."""
    headers = (("Retry-After", retry_after),) if retry_after is not None else ()
    body = f"status {status} scripted by the replay server\n".encode()
    return Reply(status=status, body=body, content_type="text/plain", headers=headers)


def load_api_recording(path: Path) -> tuple[str, QueryPairs, Reply]:
    """(path, query, reply) from an arXiv API recording `{url, status_code, body}`."""
    recorded = json.loads(path.read_text(encoding="utf-8"))
    url = urlsplit(recorded["url"])
    query = tuple(parse_qsl(url.query, keep_blank_values=True))
    reply = Reply(recorded["status_code"], recorded["body"].encode("utf-8"), ATOM)
    return url.path, query, reply


def as_last_page(oai_page: bytes) -> bytes:
    """A recorded OAI-PMH page turned into the last page of its list.

    No recording ends a list, so this empties the resumptionToken the way OAI-PMH marks the
    end (`<resumptionToken cursor=".." completeListSize=".."/>`); everything else is verbatim.
    """
    last, count = re.subn(rb"(<resumptionToken\b[^>]*)>[^<]*</resumptionToken>", rb"\1/>", oai_page)
    if count != 1:
        raise ValueError("expected exactly one resumptionToken in the page")
    return last


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens, so connecting is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@dataclass
class _Route:
    path: str
    query: QueryPairs | None
    exact: bool
    script: Sequence[Action]
    played: int = 0

    def matches(self, path: str, query: QueryPairs) -> bool:
        if path != self.path:
            return False
        if self.query is None:
            return True
        if self.exact:
            return sorted(query) == sorted(self.query)
        return set(self.query) <= set(query)

    def next_action(self) -> Action:
        action = self.script[min(self.played, len(self.script) - 1)]
        self.played += 1
        return action


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 10  # never let a stuck client hold a handler thread for long

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = tuple(parse_qsl(url.query, keep_blank_values=True))
        replay = self.server.replay
        agent = self.headers.get("User-Agent", "")
        replay.record(ReceivedRequest(url.path, query, time.monotonic(), agent))
        action = replay.next_action(url.path, query)
        if action is None:
            self._send(Reply(404, f"no route for {self.path}\n".encode(), "text/plain"))
        elif isinstance(action, DropMidBody):
            self._send_headers(200, action.content_type, len(action.body), ())
            self.wfile.write(action.body[: len(action.body) // 2])
            self.wfile.flush()
            self.close_connection = True
        elif isinstance(action, Delay):
            if not replay.stopping.wait(action.seconds):
                self._send(action.then)
        else:
            self._send(action)

    def _send(self, reply: Reply) -> None:
        self._send_headers(reply.status, reply.content_type, len(reply.body), reply.headers)
        self.wfile.write(reply.body)

    def _send_headers(
        self, status: int, content_type: str, length: int, extra: tuple[tuple[str, str], ...]
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests assert on `ReplayServer.requests` instead."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, replay: ReplayServer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.replay = replay

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out or hung up mid-response is part of the scripted faults.
        pass


class ReplayServer:
    """Serves scripted routes on 127.0.0.1 in a background thread; use as a context manager."""

    def __init__(self) -> None:
        self.requests: list[ReceivedRequest] = []
        self.stopping = threading.Event()
        self._routes: list[_Route] = []
        self._lock = threading.Lock()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def route(
        self,
        path: str,
        *script: Action,
        query: dict[str, str] | QueryPairs | None = None,
        exact: bool = False,
    ) -> None:
        """Answer GET `path` (with at least `query`, or exactly it) by playing `script`.

        Routes are tried in the order they were added; the script's last action repeats.
        """
        if not script:
            raise ValueError("a route needs at least one action")
        pairs = tuple(query.items()) if isinstance(query, dict) else query
        with self._lock:
            self._routes.append(_Route(path, pairs, exact, script))

    def add_api_recordings(self, directory: Path) -> None:
        """Route every arXiv API recording in `directory` by its exact path and query."""
        for recording in sorted(directory.glob("*.json")):
            path, query, reply = load_api_recording(recording)
            self.route(path, reply, query=query, exact=True)

    def requests_to(self, path: str) -> list[ReceivedRequest]:
        """Requests received for `path`, in arrival order."""
        with self._lock:
            return [request for request in self.requests if request.path == path]

    def record(self, request: ReceivedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def next_action(self, path: str, query: QueryPairs) -> Action | None:
        with self._lock:
            for route in self._routes:
                if route.matches(path, query):
                    return route.next_action()
        return None

    def __enter__(self) -> ReplayServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
