"""What one web process holds: settings, the database engine, the searcher, a page cache."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import sqlalchemy as sa

from dailypapers.config import Settings
from dailypapers.index.embeddings import Embedder
from dailypapers.search.service import Searcher

T = TypeVar("T")
SIMILAR_TTL_S = 600.0
SIMILAR_CACHE_ENTRIES = 20_000


class SharedSearcher:
    """One Searcher shared by the request threads of a process.

    Searcher is not thread-safe, so calls take turns (the work is CPU-bound anyway; run more
    worker processes to search in parallel). Every `refresh_s` a call first folds newly
    imported papers into the keyword index and picks up newer index files.
    """

    def __init__(
        self, engine: sa.Engine, settings: Settings, embedder: Embedder | None = None
    ) -> None:
        self._searcher = Searcher(engine, settings, embedder=embedder)
        self._lock = threading.Lock()
        self._refresh_s = settings.search_refresh_s
        self._refreshed_at = time.monotonic()
        self._similar: OrderedDict[tuple[str, int], tuple[float, list[str]]] = OrderedDict()
        self._similar_lock = threading.Lock()

    def similar_ids(self, paper_id: str, limit: int) -> list[str]:
        """Ids of the papers most like `paper_id`, remembered for SIMILAR_TTL_S.

        Neighbours change only when many papers arrive, and every paper page asks for them, so
        each worker keeps the recent answers instead of searching the vectors on each view.
        """
        key = (paper_id, limit)
        now = time.monotonic()
        with self._similar_lock:
            cached = self._similar.get(key)
            if cached is not None and cached[0] > now:
                self._similar.move_to_end(key)
                return cached[1]
        ids = self.run(lambda s: [hit.paper_id for hit in s.similar(paper_id, limit=limit)])
        with self._similar_lock:
            self._similar[key] = (now + SIMILAR_TTL_S, ids)
            while len(self._similar) > SIMILAR_CACHE_ENTRIES:
                self._similar.popitem(last=False)
        return ids

    def run(self, call: Callable[[Searcher], T]) -> T:
        with self._lock:
            now = time.monotonic()
            if now - self._refreshed_at >= self._refresh_s:
                self._refreshed_at = now
                self._searcher.refresh()
            return call(self._searcher)


class PageCache:
    """Rendered anonymous pages kept for a few seconds (a micro-cache, per process).

    A list or paper page is the same for every anonymous reader, so under load most requests
    are answered from memory. Writes on this process clear it; other nodes serve pages at
    most `ttl_s` old.
    """

    def __init__(self, ttl_s: float, max_entries: int = 2048) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, bytes, str, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[bytes, str, int] | None:
        if self.ttl_s <= 0:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] < time.monotonic():
                return None
            return entry[1], entry[2], entry[3]

    def put(self, key: str, body: bytes, media_type: str, status: int) -> None:
        if self.ttl_s <= 0:
            return
        with self._lock:
            self._entries[key] = (time.monotonic() + self.ttl_s, body, media_type, status)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


@dataclass(slots=True)
class AppState:
    settings: Settings
    engine: sa.Engine
    search: SharedSearcher
    page_cache: PageCache
    started_at: float = field(default_factory=time.time)
