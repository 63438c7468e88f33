"""What one web process holds: settings, the database engine, the searcher, page caches."""

from __future__ import annotations

import hashlib
import logging
import math
import random
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import NamedTuple, TypeVar

import anyio
import anyio.to_thread
import numpy as np
import sqlalchemy as sa

from dailypapers.config import Settings
from dailypapers.index.embeddings import Embedder
from dailypapers.index.keeper import NodeIndexKeeper
from dailypapers.index.layout import IndexLayout, IndexWatch
from dailypapers.index.onnx_encoder import load_query_encoder
from dailypapers.models import Paper
from dailypapers.search.recommend import Recommender
from dailypapers.search.service import Searcher
from dailypapers.store.engine import StoreVersion
from dailypapers.web.hosts import AllowedHosts

T = TypeVar("T")
SIMILAR_TTL_S = 600.0
SIMILAR_CACHE_ENTRIES = 20_000
QUERY_CACHE_ENTRIES = 256
logger = logging.getLogger(__name__)


class QueryVectorCache:
    """An embedder that remembers the vectors of recent single texts (queries).

    The next page of a search, its JSON twin and its feed ask for the same query's vector;
    the model is most of a search's time. Small on purpose: it serves repeats, not a workload.
    """

    def __init__(self, load: Callable[[], Embedder], entries: int = QUERY_CACHE_ENTRIES) -> None:
        self._load = load
        self._inner: Embedder | None = None
        self._entries = entries
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()

    def _model(self) -> Embedder:
        if self._inner is None:
            with self._load_lock:  # a search may arrive while the worker is still loading it
                if self._inner is None:
                    self._inner = self._load()
        return self._inner

    @property
    def loaded(self) -> bool:
        return self._inner is not None

    def load(self) -> None:
        """Load the model and run it once now (when the worker starts), not on the first
        search. A failure is logged: the first search then raises it where it is reported."""
        try:
            self._model().encode(["warm up"])
        except Exception:
            logger.exception("could not load the query encoder")

    @property
    def name(self) -> str:
        return self._model().name

    @property
    def dimensions(self) -> int:
        return self._model().dimensions

    def encode(self, texts: list[str]) -> np.ndarray:
        if len(texts) != 1:
            return self._model().encode(texts)
        with self._lock:
            cached = self._vectors.get(texts[0])
            if cached is not None:
                self._vectors.move_to_end(texts[0])
                return cached
        vectors = self._model().encode(texts)
        with self._lock:
            self._vectors[texts[0]] = vectors
            while len(self._vectors) > self._entries:
                self._vectors.popitem(last=False)
        return vectors


class SharedSearcher:
    """One Searcher shared by the request threads of a process.

    Searcher is not thread-safe, so calls take turns (the work is CPU-bound anyway; run more
    worker processes to search in parallel). A background thread (`start`) brings this node's
    keyword and vector indexes up to date with the database every `search_refresh_s` seconds,
    outside the searchers' lock, so requests never wait for it; the Searcher itself picks up
    new index files. A web process never embeds papers: workers do, once, for every node.
    """

    def __init__(
        self, engine: sa.Engine, settings: Settings, embedder: Embedder | None = None
    ) -> None:
        self._engine = engine
        self._settings = settings
        model = settings.embedding_model
        self._query_vectors = QueryVectorCache(
            lambda: (
                embedder
                or load_query_encoder(
                    model, home=settings.home, precision=settings.query_encoder_precision
                )
            )
        )
        self._searcher = Searcher(engine, settings, embedder=self._query_vectors)
        self._recommender = Recommender(engine, settings, self._searcher)
        self._lock = threading.Lock()
        # One search thread at a time; anyio's limiter serves its waiters first come, first
        # served (a newcomer never takes a token while others wait).
        self._turns = anyio.CapacityLimiter(1)
        self._similar: OrderedDict[tuple[str, int], tuple[float, list[str]]] = OrderedDict()
        self._similar_lock = threading.Lock()
        self._encoder_tried = False
        self._keeper = NodeIndexKeeper(
            engine,
            settings,
            interval_s=settings.search_refresh_s,
            after_sync=self._load_encoder_for_vectors,
        )

    def start(self) -> None:
        """Keep this node's indexes in step with the database from a background thread, and
        load the query encoder if there are vectors to search (so no search waits for it)."""
        self._keeper.start()
        self._load_encoder_for_vectors()  # before the worker serves: its first search is quick

    def _load_encoder_for_vectors(self) -> None:
        """Load the query encoder, once, when there are vectors to search. On a new site the
        first vectors come after the workers start: the keeper's thread then loads it
        (exporting it takes seconds), not the first search that needs it. A load that fails
        is logged once; a search then tries again and reports the error."""
        if self._encoder_tried or self.run(lambda s: s.vector_index()) is None:
            return
        self._encoder_tried = True
        self._query_vectors.load()

    def stop(self) -> None:
        self._keeper.stop()

    @property
    def query_encoder_loaded(self) -> bool:
        """Whether this process has its query encoder in memory."""
        return self._query_vectors.loaded

    def similar_ids(self, paper: Paper, limit: int) -> list[str]:
        """Ids of the papers most like `paper`, remembered for SIMILAR_TTL_S.

        Neighbours change only when many papers arrive, and every paper page asks for them, so
        each worker keeps the recent answers instead of searching the vectors on each view.
        """
        key = (paper.paper_id, limit)
        now = time.monotonic()
        with self._similar_lock:
            cached = self._similar.get(key)
            if cached is not None and cached[0] > now:
                self._similar.move_to_end(key)
                return cached[1]
        ids = self.run(lambda s: s.similar_ids(paper, limit=limit))
        with self._similar_lock:
            self._similar[key] = (now + SIMILAR_TTL_S, ids)
            while len(self._similar) > SIMILAR_CACHE_ENTRIES:
                self._similar.popitem(last=False)
        return ids

    def run(self, call: Callable[[Searcher], T]) -> T:
        with self._lock:
            return call(self._searcher)

    async def in_turn(self, call: Callable[[], T]) -> T:
        """Run `call`, which searches, on a worker thread once this process's searches before
        it are done. The searches of a process take turns anyway (`run`); waiting for the turn
        in the event loop, in arrival order, instead of on threads parked on the lock left
        less for the worker to juggle: fresh hybrid searches used about 1 ms less CPU each
        (BENCHMARKS.md). A waiting search still holds one of the render threads' places, as
        a route's parked thread did, so searches and pages share the worker as before (with
        searches counted apart, mixed load's slowest answers were slower)."""
        async with anyio.to_thread.current_default_thread_limiter():
            return await anyio.to_thread.run_sync(call, limiter=self._turns)

    def recommend(self, call: Callable[[Recommender], T]) -> T:
        """Run `call` with the process's Recommender (it shares the searcher and its lock)."""
        with self._lock:
            return call(self._recommender)


# What a cached response depends on: scheme, host, path and query of an anonymous GET.
CacheKey = tuple[str, bytes, str, bytes]
Headers = list[tuple[bytes, bytes]]


# What one kept entry costs besides its body and headers (key, tuple, dict slot), about.
ENTRY_OVERHEAD_BYTES = 400
PAGE_CACHE_BYTES = 32 * 1024 * 1024
PAGE_CACHE_ENTRIES = 4096


@dataclass(slots=True, frozen=True)
class CachedResponse:
    status: int
    headers: Headers
    body: bytes

    @property
    def size_bytes(self) -> int:
        """About what keeping this response costs in memory."""
        header_bytes = sum(len(name) + len(value) for name, value in self.headers)
        return len(self.body) + header_bytes + ENTRY_OVERHEAD_BYTES


class PageCache:
    """Rendered anonymous pages kept for a few seconds (a micro-cache, per process).

    A list or paper page is the same for every anonymous reader, so under load most requests
    are answered from memory. Writes on this process clear it; other nodes serve pages at
    most `ttl_s` old. What may be kept is decided by the responses (see SiteMiddleware).

    Bounded by bytes as well as entries, since pages differ in size (a search page or a feed
    can be ten times a paper page): the oldest entries go first, expired ones at once, and a
    response larger than an eighth of the budget is not kept.
    """

    def __init__(
        self,
        ttl_s: float,
        *,
        max_bytes: int = PAGE_CACHE_BYTES,
        max_entries: int = PAGE_CACHE_ENTRIES,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        # In order of storing, which with one ttl is also the order of expiry.
        self._entries: OrderedDict[CacheKey, tuple[float, CachedResponse, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.ttl_s > 0

    @property
    def size_bytes(self) -> int:
        """What the kept responses cost, about (see CachedResponse.size_bytes)."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: CacheKey) -> CachedResponse | None:
        if self.ttl_s <= 0:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] < time.monotonic():
                return None
            return entry[1]

    def put(self, key: CacheKey, response: CachedResponse) -> None:
        size = response.size_bytes
        if self.ttl_s <= 0 or size > self.max_bytes // 8:
            return
        now = time.monotonic()
        with self._lock:
            replaced = self._entries.pop(key, None)
            if replaced is not None:
                self._bytes -= replaced[2]
            self._entries[key] = (now + self.ttl_s, response, size)
            self._bytes += size
            while self._entries and (
                len(self._entries) > self.max_entries
                or self._bytes > self.max_bytes
                or next(iter(self._entries.values()))[0] < now
            ):
                _, (_, _, oldest_size) = self._entries.popitem(last=False)
                self._bytes -= oldest_size

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0


# A page kept by StampedPages whose stamp does not cover all it shows (not `complete`; the site's
# pages all are) is drawn again after 80-100 % of this (spread, so that pages kept together are
# not all drawn again together).
STAMPED_MAX_AGE_S = 300.0
STAMPED_AGE_SPREAD = 0.2
STAMPED_PAGES_BYTES = 64 * 1024 * 1024
STAMPED_PAGES_ENTRIES = 16_384
# The API's kept answers have a budget of their own, so that they never push out kept pages
# (the pages of the benchmark's mix fill most of the pages' budget; with the search API's
# answers in it too, least-recently-read order emptied it of both). A search answer of 20
# papers takes about 14 KB compressed: this holds about 2,300.
KEPT_ANSWERS_BYTES = 32 * 1024 * 1024
KEPT_ANSWERS_ENTRIES = 4096


# What a kept page was last confirmed at (see DataVersion); None: never confirmed that way.
Version = Hashable | None
HTML_MEDIA_TYPE = b"text/html; charset=utf-8"


class KeptPage(NamedTuple):
    """A page StampedPages kept: its body and its content type."""

    body: bytes
    media_type: bytes


class DataVersion:
    """What every kept page depends on besides its own facts, told in a few microseconds: the
    store's version (any commit by any process, see StoreVersion), each live index's last
    commit (see IndexWatch), and the UTC day.

    A page confirmed at one version is still right while the version is the same, so
    StampedPages answers it without reading its facts again. `current()` is None where the
    store cannot tell its version (PostgreSQL): every request then reads the facts.
    """

    def __init__(self, engine: sa.Engine, layout: IndexLayout) -> None:
        self._store = StoreVersion(engine)
        self._indexes = IndexWatch(layout)

    def current(self) -> Version:
        """The version now. Read it *before* the facts a page is stamped with: a write that
        lands between the two then changes the version, and the page is confirmed again."""
        store = self._store.current()
        if store is None:
            return None
        return store, self._indexes.stamp(), int(time.time() // 86_400)

    def close(self) -> None:
        self._store.close()


class StampedPages:
    """Rendered anonymous pages kept while what they show is unchanged (per process).

    A page is kept with a stamp: a digest of the stored facts it was drawn from (for a paper
    page, its row, its comments' states and authors, its similar papers' rows, its votes by
    day; for a list or a search page, the papers it lists as read for the request). A request
    for a kept page whose DataVersion has not moved since the page was last confirmed gets it
    at once (`unchanged`); otherwise it reads those facts again, which is cheap next to
    drawing, and gets the kept page only if the stamp is the same (`get`), so a vote, a comment
    or an edit made on any node shows at once. A page whose stamp is `complete` (all it shows)
    is drawn again only when it changes; one whose stamp leaves something out, within
    `max_age_s`. Pages drawn together age together, and a worker under load would draw them
    all again at once, so the site stamps its pages completely. Pages are kept
    zlib-compressed (a 9 KB paper page takes about 3 KB), so that a worker holds thousands of
    them in its budget; the least recently read go first. An answer that is nothing but
    stored facts (a search's JSON) is kept the same way, stamped with its own digest.
    """

    def __init__(
        self,
        max_age_s: float,
        *,
        max_bytes: int = STAMPED_PAGES_BYTES,
        max_entries: int = STAMPED_PAGES_ENTRIES,
    ) -> None:
        self.max_age_s = max_age_s
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        # key -> (expires, stamp, compressed body, version last confirmed at, media type)
        self._entries: OrderedDict[CacheKey, tuple[float, bytes, bytes, Version, bytes]] = (
            OrderedDict()
        )
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.max_age_s > 0

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def stamp(*facts: object) -> bytes:
        """The digest of what a page was rendered from (their reprs, which name every field)."""
        return hashlib.blake2b(repr(facts).encode(), digest_size=16).digest()

    def unchanged(self, key: CacheKey, version: Version) -> KeptPage | None:
        """The page kept for `key` if it was confirmed at `version` (not None) and has not aged."""
        if not self.enabled or version is None:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[3] != version or entry[0] < time.monotonic():
                return None
            self._entries.move_to_end(key)
        return KeptPage(zlib.decompress(entry[2]), entry[4])

    def get(self, key: CacheKey, stamp: bytes, version: Version = None) -> bytes | None:
        """The page kept for `key` if its stamp is `stamp`; it is then confirmed at `version`
        (read before the facts the stamp digests)."""
        if not self.enabled:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[1] != stamp or entry[0] < time.monotonic():
                return None
            self._entries[key] = (entry[0], stamp, entry[2], version, entry[4])
            self._entries.move_to_end(key)
        return zlib.decompress(entry[2])

    def put(
        self,
        key: CacheKey,
        stamp: bytes,
        body: bytes,
        *,
        complete: bool = False,
        version: Version = None,
        media_type: bytes = HTML_MEDIA_TYPE,
    ) -> None:
        """Keep `body` for `key` while the stamp is `stamp`, confirmed at `version` (read before
        the facts); `complete`: the stamp covers all the page shows, so it does not age."""
        if not self.enabled:
            return
        if complete:
            expires = math.inf
        else:
            spread = 1 - STAMPED_AGE_SPREAD * random.random()
            expires = time.monotonic() + self.max_age_s * spread
        packed = zlib.compress(body, 1)
        size = len(packed) + len(stamp) + ENTRY_OVERHEAD_BYTES
        if size > self.max_bytes // 8:
            return
        with self._lock:
            replaced = self._entries.pop(key, None)
            if replaced is not None:
                self._bytes -= len(replaced[2]) + len(replaced[1]) + ENTRY_OVERHEAD_BYTES
            self._entries[key] = (expires, stamp, packed, version, media_type)
            self._bytes += size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, (_, old_stamp, old_packed, *_) = self._entries.popitem(last=False)
                self._bytes -= len(old_packed) + len(old_stamp) + ENTRY_OVERHEAD_BYTES

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0


@dataclass(slots=True)
class AppState:
    settings: Settings
    engine: sa.Engine
    search: SharedSearcher
    page_cache: PageCache
    hosts: AllowedHosts
    kept_pages: StampedPages
    kept_answers: StampedPages  # the API's (see KEEP_WHILE_UNCHANGED in web.middleware)
    versions: DataVersion
    started_at: float = field(default_factory=time.time)
