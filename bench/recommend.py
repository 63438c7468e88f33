""" "For you" quality on real arXiv papers: precision@10 against recency and popularity.

Simulated readers each follow one research area (a primary arXiv category). A reader upvotes
N random papers of that area from before the test window; the papers they would like are the
test window's papers of their area. Every reader also upvotes a few percent of their area's
test-window papers, the community votes that popularity ranks by. While a reader is evaluated
their own test-window votes are withdrawn, so neither "For you" (whose training and "seen" set
are the reader's votes) nor the popularity baseline can see them; they are put back afterwards.

The library setting (--library N, default 20) comes first, before any reader has voted: each
reader pastes the arXiv ids of N of their liked papers into a collection of their own
(`run_library_import`, as "Bring your library" does) and is scored with no votes at all,
beside today's cold start (the same reader before the import: most upvoted first). The
collection is deleted before the votes rounds.

The follows setting (--follows K, default 3) rides on the library round: before the import
each reader follows the K authors of their liked papers with the most papers before the test
window (the names a reader of that area knows; nothing from the test window decides) and is
scored with no votes and no library (the cold start with follows: followed authors' papers
first); after the import, with and without those follows (the For you boost on the library's
classifier). The follows go before the votes rounds.

The daily listing lines carry no dates (the importer leaves `published` empty and so the papers
get no list day). The only date they hold is the arXiv id's year and month, so the benchmark
writes the chosen papers as generic JSON lines with `published` = the first day of that month:
the test window is the newest month. Embedding runs at roughly 10-20 papers/s on 2 CPU cores,
so only a documented sample is stored (see --test-papers, --train-papers).

    python -m bench.recommend                    # ~6-9 min on 2 cores, mostly embedding
    python -m bench.recommend --quick            # tiny, for the smoke test (< 60 s)
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import orjson
import sqlalchemy as sa

import dailypapers.ranking.personal as personal
import dailypapers.search.recommend as recommend_module
from dailypapers.config import Settings, load_settings
from dailypapers.ids import author_key, is_arxiv_category
from dailypapers.index.build import build_indexes
from dailypapers.index.embeddings import load_embedder
from dailypapers.index.keys import paper_key
from dailypapers.ingest.files import ImportOptions, import_paths
from dailypapers.ingest.library import run_library_import
from dailypapers.search.recommend import Recommender
from dailypapers.search.service import Searcher
from dailypapers.store.accounts import create_user
from dailypapers.store.collections import create_collection, delete_collection
from dailypapers.store.engine import open_store
from dailypapers.store.follows import follow, papers_by_authors, unfollow
from dailypapers.store.lists import ListedPaper, list_window_papers
from dailypapers.store.marks import get_feedback
from dailypapers.store.papers import get_papers
from dailypapers.store.votes import record_vote, withdraw_vote

LISTING = (
    Path(__file__).resolve().parents[1].parent
    / "shared/data/arxiv-cs-2025/arxiv-cs-2025-03_2026-07.jsonl.gz"
)
NEW_STYLE_ID = re.compile(r"^(\d{2})(\d{2})\.\d{4,5}(v\d+)?$")
TOP_K = 10
METHODS = ("For you", "recency", "popularity", "random")
# Sized to run in under 10 minutes on 2 busy CPU cores, most of it embedding ~4,000 papers.
DEFAULTS: dict[str, Any] = {
    "test_papers": 2000,
    "train_papers": 1000,
    "areas": 10,
    "readers_per_area": 7,
    "likes": [5, 10, 20],
    "regularisation": [0.1, 1.0, 10.0],
    "library": 20,
    "follows": 3,
}
QUICK = {**DEFAULTS, "test_papers": 120, "train_papers": 40, "areas": 3, "readers_per_area": 2}
QUICK["likes"] = [5]
QUICK["library"] = 5
QUICK["follows"] = 2


@dataclass(slots=True, frozen=True)
class Listing:
    """One line of the listing file: its id month, its primary category, the raw line."""

    paper_id: str
    month: date
    area: str | None
    line: bytes


@dataclass(slots=True)
class Reader:
    """A simulated reader: one area, likes from before the window, community votes in it."""

    name: str
    area: str
    likes: list[str]  # earlier papers; the first N are upvoted in the round for N
    test_votes: list[str]
    follows: list[str] = field(default_factory=list)  # author names, most prolific first
    user_id: int = 0
    voted_likes: int = 0


@dataclass(slots=True)
class Sample:
    test_month: date
    test_pool: list[Listing]
    background: list[Listing]
    readers: list[Reader]
    sizes: dict[str, Any]


@dataclass(slots=True)
class Tally:
    """Precision@10 per (method, N) per reader, and timings in ms."""

    precision: dict[tuple[str, int], list[float]] = field(default_factory=lambda: defaultdict(list))
    by_area: dict[tuple[str, int, str], list[float]] = field(
        default_factory=lambda: defaultdict(list)
    )
    first_call_ms: list[float] = field(default_factory=list)
    stored_model_ms: list[float] = field(default_factory=list)
    training_ms: list[float] = field(default_factory=list)
    liked_in_background: Counter[int] = field(default_factory=Counter)
    # The library setting: per reader, no votes, before and after importing the library.
    cold_start: list[float] = field(default_factory=list)
    library: list[float] = field(default_factory=list)
    library_modes: Counter[str] = field(default_factory=Counter)
    # The follows setting: no votes, no library, following authors; then with the library.
    follows_cold: list[float] = field(default_factory=list)
    follows_library: list[float] = field(default_factory=list)
    followed_candidates: list[int] = field(default_factory=list)  # by a followed author
    followed_liked: list[int] = field(default_factory=list)  # ... and in the reader's area


def id_month(paper_id: str) -> date | None:
    """The first day of the month a new-style arXiv id encodes (2606.01234 -> 2026-06-01)."""
    match = NEW_STYLE_ID.match(paper_id)
    if match is None or not 1 <= int(match[2]) <= 12:
        return None
    return date(2000 + int(match[1]), int(match[2]), 1)


def read_listing(path: Path) -> tuple[list[Listing], int]:
    """Every line with a dated id, and how many lines had none."""
    rows, undated = [], 0
    with gzip.open(path) as stream:
        for line in stream:
            obj = orjson.loads(line)
            month = id_month(obj["id"])
            if month is None:
                undated += 1
                continue
            codes = [c for c in obj.get("categories") or [] if is_arxiv_category(c)]
            rows.append(Listing(obj["id"], month, codes[0] if codes else None, line))
    return rows, undated


def by_area(rows: Sequence[Listing]) -> dict[str, list[Listing]]:
    grouped: dict[str, list[Listing]] = defaultdict(list)
    for row in rows:
        if row.area is not None:
            grouped[row.area].append(row)
    return grouped


def choose_areas(
    test: dict[str, list[Listing]], earlier: dict[str, list[Listing]], args: argparse.Namespace
) -> list[str]:
    """The largest areas with enough test papers to judge and enough earlier papers to like."""
    need_likes = 2 * max(args.likes)
    fit = [
        area
        for area, rows in test.items()
        if len(rows) >= args.min_area_papers and len(earlier.get(area, ())) >= need_likes
    ]
    return sorted(fit, key=lambda area: (-len(test[area]), area))[: args.areas]


def draw_sample(rows: list[Listing], args: argparse.Namespace) -> Sample:
    """Test pool, readers and background library, all drawn with one seeded RNG."""
    rng = random.Random(args.seed)
    test_month = max(row.month for row in rows)
    window = [row for row in rows if row.month == test_month]
    earlier_rows = [row for row in rows if row.month < test_month]
    pool = rng.sample(window, min(args.test_papers, len(window)))
    test, earlier = by_area(pool), by_area(earlier_rows)
    readers = []
    for area in choose_areas(test, earlier, args):
        votes = max(1, round(args.community_votes * len(test[area])))
        for number in range(args.readers_per_area):
            likes = [row.paper_id for row in rng.sample(earlier[area], max(args.likes))]
            voted = [row.paper_id for row in rng.sample(test[area], votes)]
            readers.append(Reader(f"bench-{area}-{number}", area, likes, voted))
    background = rng.sample(earlier_rows, min(args.train_papers, len(earlier_rows)))
    sizes = {
        "file_papers": len(rows),
        "test_month": test_month.isoformat()[:7],
        "test_month_papers": len(window),
        "test_pool": len(pool),
        "earlier_papers": len(earlier_rows),
        "background_sample": len(background),
        "liked_papers": len({pid for r in readers for pid in r.likes}),
    }
    return Sample(test_month, pool, background, readers, sizes)


def choose_follows(
    readers: list[Reader], earlier: Sequence[Listing], count: int, size: int
) -> None:
    """Each reader follows the `count` authors of their first `size` liked papers who signed
    the most papers before the test window (ties by name)."""
    if count <= 0:
        return
    papers_by: Counter[str] = Counter()
    names: dict[str, str] = {}
    for row in earlier:
        for name in orjson.loads(row.line).get("authors") or []:
            key = author_key(name)
            if key:
                papers_by[key] += 1
                names.setdefault(key, name)
    lines = {row.paper_id: row.line for row in earlier}
    for reader in readers:
        keys = {
            key
            for pid in reader.likes[:size]
            for name in orjson.loads(lines[pid]).get("authors") or []
            if (key := author_key(name))
        }
        ranked = sorted(keys, key=lambda key: (-papers_by[key], key))
        reader.follows = [names[key] for key in ranked[:count]]


def write_generic(rows: Sequence[Listing], path: Path) -> int:
    """The chosen lines as generic JSON lines, dated by their id month; returns the count."""
    seen: set[str] = set()
    with path.open("wb") as out:
        for row in rows:
            if row.paper_id in seen:
                continue
            seen.add(row.paper_id)
            obj = orjson.loads(row.line)
            generic = {
                "id": obj["id"],
                "title": obj["title"],
                "abstract": obj.get("summary"),
                "authors": obj.get("authors") or [],
                "categories": [c for c in obj.get("categories") or [] if is_arxiv_category(c)],
                "published": row.month.isoformat(),
                "comments": obj.get("comment"),
                "url": obj.get("abs"),
                "pdf_url": obj.get("pdf"),
            }
            out.write(orjson.dumps(generic) + b"\n")
    return len(seen)


def build_store(
    home: Path, corpus: Path, expected: int
) -> tuple[sa.Engine, Settings, dict[str, float]]:
    """Import the file (format auto-detected, as `dailypapers import` does) and index it."""
    settings = load_settings({}, home=home)
    engine = open_store(settings)
    now = datetime.now(UTC)
    started = time.perf_counter()
    options = ImportOptions("auto", now.date(), settings.import_batch_size)
    summary = import_paths(engine, [corpus], options, now=now)
    imported_s = time.perf_counter() - started
    if summary.failed or summary.imported != expected:
        sys.exit(f"import of {corpus} went wrong: {summary}")
    started = time.perf_counter()
    report = build_indexes(engine, settings, embedder=load_embedder(settings.embedding_model))
    index_s = time.perf_counter() - started
    timings = {
        "import_s": imported_s,
        "index_build_s": index_s,
        "embedded": report.embedded,
        "papers_per_s_index": report.embedded / index_s,
    }
    return engine, settings, timings


def month_end(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def precision(picks: Sequence[str], liked: set[str]) -> float:
    return sum(pid in liked for pid in picks[:TOP_K]) / TOP_K


class TrainingTimer:
    """Wraps the classifier training that `Recommender` calls, to time it."""

    def __init__(self) -> None:
        self.times_ms: list[float] = []
        self._train = recommend_module.train_profile

    def __call__(self, *args: Any) -> personal.Profile:
        started = time.perf_counter()
        profile = self._train(*args)
        self.times_ms.append((time.perf_counter() - started) * 1000)
        return profile


def _no_stored_model(_engine: sa.Engine, *, user_id: int) -> None:
    """Stands in for get_model in the C sweep: the reader's classifier is always retrained."""
    del user_id


@contextmanager
def regularisation(value: float) -> Iterator[None]:
    """Train with LogisticRegression(C=value), ignoring stored models (benchmark only)."""
    with (
        mock.patch.object(personal, "REGULARISATION_C", value),
        mock.patch.object(recommend_module, "get_model", _no_stored_model),
    ):
        yield


def set_votes(engine: sa.Engine, reader: Reader, paper_ids: Sequence[str], *, on: bool) -> None:
    for paper_id in paper_ids:
        if on:
            record_vote(engine, user_id=reader.user_id, paper_id=paper_id, now=datetime.now(UTC))
        else:
            withdraw_vote(engine, user_id=reader.user_id, paper_id=paper_id)


def liked_among_background(recommender: Recommender, reader: Reader, n: int) -> int:
    """How many of the reader's liked papers sit among the negatives their model trains on."""
    vectors = recommender.searcher.vector_index()
    if vectors is None:
        return 0
    feedback = get_feedback(recommender.engine, user_id=reader.user_id)
    # Diagnostic only: the recommender's background sample as it is used for this reader.
    background = recommender._background_vectors(vectors, feedback)
    if not len(background):
        return 0
    keys = np.asarray([paper_key(pid) for pid in reader.likes[:n]], np.uint64)
    _, liked = vectors.vectors_for(keys)
    # The same stored vectors come back bit for bit; a cosine threshold would miss float16 rows.
    same = (liked[:, None, :] == background[None, :, :]).all(axis=2)
    return int(same.any(axis=1).sum())


@dataclass(slots=True)
class Evaluation:
    engine: sa.Engine
    recommender: Recommender
    window: tuple[date, date]
    newest_first: list[str]
    regularisations: tuple[float, ...]
    timer: TrainingTimer
    tally: Tally = field(default_factory=Tally)

    def candidates(self) -> list[ListedPaper]:
        first, last = self.window
        return list_window_papers(self.engine, first_day=first, last_day=last)

    def picks(self, reader: Reader, candidates: list[ListedPaper]) -> list[str]:
        found = self.recommender.recommend(
            user_id=reader.user_id, candidates=candidates, limit=TOP_K
        )
        if found.mode != "personal":
            sys.exit(f"{reader.name}: expected personal picks, got {found.mode} ({found.notices})")
        return [pick.paper_id for pick in found.picks]

    def timed_picks(self, reader: Reader, candidates: list[ListedPaper]) -> list[str]:
        """First call after the reader's votes changed (trains), then again (stored model)."""
        trained = len(self.timer.times_ms)
        started = time.perf_counter()
        first = self.picks(reader, candidates)
        self.tally.first_call_ms.append((time.perf_counter() - started) * 1000)
        self.tally.training_ms.extend(self.timer.times_ms[trained:])
        started = time.perf_counter()
        again = self.picks(reader, candidates)
        self.tally.stored_model_ms.append((time.perf_counter() - started) * 1000)
        if again != first or len(self.timer.times_ms) != trained + 1:
            sys.exit(f"{reader.name}: the stored model did not give the trained model's picks")
        return first

    def score(self, reader: Reader, n: int) -> None:
        candidates = self.candidates()
        liked = {c.paper_id for c in candidates if c.categories and c.categories[0] == reader.area}
        runs = {
            "For you": self.timed_picks(reader, candidates),
            "recency": self.newest_first[:TOP_K],
            # list_window_papers hands them over most upvoted first (the "popular" order).
            "popularity": [c.paper_id for c in candidates[:TOP_K]],
        }
        for value in self.regularisations:
            with regularisation(value):
                runs[f"For you, C={value:g}"] = self.picks(reader, candidates)
        for method, picks in runs.items():
            self.tally.precision[method, n].append(precision(picks, liked))
            self.tally.by_area[method, n, reader.area].append(precision(picks, liked))
        self.tally.precision["random", n].append(len(liked) / len(candidates))
        self.tally.by_area["random", n, reader.area].append(len(liked) / len(candidates))
        self.tally.liked_in_background[n] += liked_among_background(self.recommender, reader, n)

    def follow_authors(self, reader: Reader, *, on: bool) -> None:
        for name in reader.follows:
            if on:
                follow(
                    self.engine,
                    user_id=reader.user_id,
                    kind="author",
                    target=author_key(name),
                    label=name,
                    now=datetime.now(UTC),
                )
            else:
                unfollow(
                    self.engine, user_id=reader.user_id, kind="author", target=author_key(name)
                )

    def followed_round(
        self, reader: Reader, candidates: list[ListedPaper], liked: set[str]
    ) -> None:
        """The reader with no votes and no library, following their authors: cold start with
        followed authors' papers first. Their follows stay on for the library's first score."""
        self.follow_authors(reader, on=True)
        by_followed = papers_by_authors(
            self.engine,
            author_keys=[author_key(name) for name in reader.follows],
            paper_ids=[c.paper_id for c in candidates],
        )
        self.tally.followed_candidates.append(len(by_followed))
        self.tally.followed_liked.append(len(by_followed.keys() & liked))
        found = self.recommender.recommend(
            user_id=reader.user_id, candidates=candidates, limit=TOP_K
        )
        self.tally.follows_cold.append(precision([p.paper_id for p in found.picks], liked))

    def library_round(self, readers: list[Reader], size: int) -> None:
        """Each reader with no votes: today's cold start, then For you from a library of `size`
        liked papers imported as pasted arXiv ids into their own collection; with follows,
        each of those with and without following the reader's authors."""
        for reader in readers:
            set_votes(self.engine, reader, reader.test_votes, on=False)
            candidates = self.candidates()
            liked = {c.paper_id for c in candidates if c.categories[:1] == (reader.area,)}
            cold = self.recommender.recommend(
                user_id=reader.user_id, candidates=candidates, limit=TOP_K
            )
            if cold.mode == "personal":
                sys.exit(f"{reader.name}: a reader with no votes got personal picks")
            if reader.follows:
                self.followed_round(reader, candidates, liked)
            now = datetime.now(UTC)
            collection = create_collection(
                self.engine, owner_id=reader.user_id, name="Library", now=now
            )
            report = run_library_import(
                self.engine,
                self.recommender.settings,
                data="\n".join(reader.likes[:size]).encode(),
                origin="library.txt",
                collection_id=collection.collection_id,
                user_id=reader.user_id,
                now=now,
            )
            if report.count("matched") != min(size, len(reader.likes)):
                sys.exit(f"{reader.name}: library import went wrong: {report.counts}")
            if reader.follows:
                with_follows = self.recommender.recommend(
                    user_id=reader.user_id, candidates=candidates, limit=TOP_K
                )
                picks = [p.paper_id for p in with_follows.picks]
                self.tally.follows_library.append(precision(picks, liked))
                self.follow_authors(reader, on=False)
            found = self.recommender.recommend(
                user_id=reader.user_id, candidates=candidates, limit=TOP_K
            )
            self.tally.library_modes[found.mode] += 1
            self.tally.cold_start.append(precision([p.paper_id for p in cold.picks], liked))
            self.tally.library.append(precision([p.paper_id for p in found.picks], liked))
            delete_collection(self.engine, collection_id=collection.collection_id)
            set_votes(self.engine, reader, reader.test_votes, on=True)

    def run(self, readers: list[Reader], likes: Sequence[int], library: int = 0) -> Tally:
        if library:
            self.library_round(readers, library)
        for n in likes:
            for reader in readers:
                set_votes(self.engine, reader, reader.test_votes, on=False)
                set_votes(self.engine, reader, reader.likes[reader.voted_likes : n], on=True)
                reader.voted_likes = n
                self.score(reader, n)
                set_votes(self.engine, reader, reader.test_votes, on=True)
        return self.tally


def evaluate(
    engine: sa.Engine, settings: Settings, sample: Sample, args: argparse.Namespace
) -> Tally:
    now = datetime.now(UTC)
    for reader in sample.readers:
        user = create_user(
            engine, username=reader.name, password_hash="bench-no-login", email=None, now=now
        )
        reader.user_id = user.user_id
    for reader in sample.readers:
        set_votes(engine, reader, reader.test_votes, on=True)
    window = (sample.test_month, month_end(sample.test_month))
    pool_ids = [row.paper_id for row in sample.test_pool]
    stored = get_papers(engine, paper_ids=pool_ids)
    # Every candidate has the same month as its date, so the tie-break decides: the highest
    # arXiv number (the latest submitted) first.
    newest = sorted(stored.values(), key=lambda p: (p.published, p.paper_id), reverse=True)
    timer = TrainingTimer()
    recommender = Recommender(engine, settings, Searcher(engine, settings))
    evaluation = Evaluation(
        engine, recommender, window, [p.paper_id for p in newest], args.regularisation, timer
    )
    if len(evaluation.candidates()) != len(pool_ids):
        sys.exit(f"expected {len(pool_ids)} papers listed in {window}: check their list days")
    with mock.patch.object(recommend_module, "train_profile", timer):
        return evaluation.run(sample.readers, args.likes, args.library)


def mean_and_margin(values: Sequence[float]) -> tuple[float, float]:
    """The mean and the half-width of its normal 95% interval over readers."""
    if len(values) < 2:
        return statistics.fmean(values), 0.0
    return statistics.fmean(values), 1.96 * statistics.stdev(values) / len(values) ** 0.5


def compare_regularisation(
    tally: Tally, args: argparse.Namespace
) -> tuple[dict[str, float], dict[str, tuple[float, float]], str | None]:
    """Mean precision per swept C over N, its difference from the default run paired per reader
    (averaged over N first, so each reader counts once), and the best C."""
    overall: dict[str, float] = {}
    paired: dict[str, tuple[float, float]] = {}
    readers = len(tally.precision["For you", args.likes[0]])
    for value in args.regularisation:
        method, c = f"For you, C={value:g}", f"{value:g}"
        overall[c] = statistics.fmean(
            statistics.fmean(tally.precision[method, n]) for n in args.likes
        )
        differences = [
            statistics.fmean(
                tally.precision[method, n][i] - tally.precision["For you", n][i] for n in args.likes
            )
            for i in range(readers)
        ]
        paired[c] = mean_and_margin(differences)
    default = f"{personal.REGULARISATION_C:g}"
    best = max(overall, key=lambda c: (round(overall[c], 6), c == default)) if overall else None
    return overall, paired, best


def _library_summary(tally: Tally, args: argparse.Namespace) -> dict[str, Any] | None:
    """Cold start against For you from an imported library, per reader, no votes."""
    if not tally.library:
        return None
    paired = [after - before for before, after in zip(tally.cold_start, tally.library, strict=True)]
    return {
        "library_papers": args.library,
        "cold_start": mean_and_margin(tally.cold_start),
        "library": mean_and_margin(tally.library),
        "paired_difference": mean_and_margin(paired),
        "modes": dict(tally.library_modes),
        "readers": len(tally.library),
        "follows": _follows_summary(tally, args),
    }


def _follows_summary(tally: Tally, args: argparse.Namespace) -> dict[str, Any] | None:
    """Following the reader's authors, against the same reader without follows: with no votes
    and no library (cold start), and with the library."""
    if not tally.follows_cold:
        return None
    cold = [a - b for a, b in zip(tally.follows_cold, tally.cold_start, strict=True)]
    library = [a - b for a, b in zip(tally.follows_library, tally.library, strict=True)]
    return {
        "authors_followed": args.follows,
        "cold_start_with_follows": mean_and_margin(tally.follows_cold),
        "cold_start_paired_difference": mean_and_margin(cold),
        "library_with_follows": mean_and_margin(tally.follows_library),
        "library_paired_difference": mean_and_margin(library),
        "candidates_by_followed_authors_mean": statistics.fmean(tally.followed_candidates),
        "of_those_in_the_readers_area_mean": statistics.fmean(tally.followed_liked),
        "readers_with_a_followed_candidate": sum(n > 0 for n in tally.followed_candidates),
        "readers_changed_cold": sum(d != 0 for d in cold),
        "readers_changed_library": sum(d != 0 for d in library),
    }


def summarise(tally: Tally, sample: Sample, args: argparse.Namespace) -> dict[str, Any]:
    methods = list(dict.fromkeys([*METHODS, *(method for method, _ in tally.precision)]))
    table = {
        method: {str(n): mean_and_margin(tally.precision[method, n]) for n in args.likes}
        for method in methods
    }
    areas = list(dict.fromkeys(reader.area for reader in sample.readers))
    per_area = {
        area: {
            method: {str(n): statistics.fmean(tally.by_area[method, n, area]) for n in args.likes}
            for method in METHODS
        }
        for area in areas
    }
    overall, paired, best = compare_regularisation(tally, args)
    return {
        "precision_at_10": {m: {n: v[0] for n, v in row.items()} for m, row in table.items()},
        "margin_95": {m: {n: v[1] for n, v in row.items()} for m, row in table.items()},
        "per_area": per_area,
        "area_test_papers": dict(Counter(row.area for row in sample.test_pool if row.area)),
        "readers": len(sample.readers),
        "regularisation_mean_over_n": overall,
        "regularisation_paired_difference": paired,
        "best_regularisation_c": best,
        "default_regularisation_c": personal.REGULARISATION_C,
        "library_setting": _library_summary(tally, args),
        "liked_papers_in_shared_background": {
            str(n): tally.liked_in_background[n] for n in args.likes
        },
        "timings_ms": {
            "recommend_first_call_median": statistics.median(tally.first_call_ms),
            "recommend_stored_model_median": statistics.median(tally.stored_model_ms),
            "training_median": statistics.median(tally.training_ms),
            "training_max": max(tally.training_ms),
            "calls": len(tally.first_call_ms),
        },
    }


LABELS = {
    "recency": "recency (newest 10)",
    "popularity": "popularity (votes)",
    "random": "random (area share)",
}


def print_precision(summary: dict[str, Any], likes: list[str]) -> None:
    """The main table, then For you, popularity and random per area."""
    readers, areas = summary["readers"], len(summary["per_area"])
    print(f'\n"For you" precision@{TOP_K}, mean over {readers} readers ({areas} areas), ±95%:')
    print(f"{'method':22}" + "".join(f"{'N=' + n + ' likes':>16}" for n in likes))
    for method, row in summary["precision_at_10"].items():
        margins = summary["margin_95"][method]
        cells = "".join(f"{row[n]:>10.3f} ±{margins[n]:.3f}" for n in likes)
        print(f"{LABELS.get(method, method):22}{cells}")
    print(f"\nper area, precision@{TOP_K} (For you / popularity / random) at N=" + "/".join(likes))
    for area, row in summary["per_area"].items():
        methods = ("For you", "popularity", "random")
        parts = ["/".join(f"{row[m][n]:.2f}" for n in likes) for m in methods]
        count = summary["area_test_papers"][area]
        print(f"  {area:8} {count:5} test papers   " + "   ".join(parts))


def print_library(summary: dict[str, Any]) -> None:
    found = summary["library_setting"]
    if found is None:
        return
    cold, library, paired = found["cold_start"], found["library"], found["paired_difference"]
    print(
        f"\nlibrary setting: {found['readers']} readers, no votes, precision@{TOP_K} (±95%):"
        f"\n  {'cold start (today: most upvoted)':40}{cold[0]:>8.3f} ±{cold[1]:.3f}"
        f"\n  {'For you, library of ' + str(found['library_papers']) + ' papers':40}"
        f"{library[0]:>8.3f} ±{library[1]:.3f}"
        f"\n  paired difference {paired[0]:+.3f} ±{paired[1]:.3f}; modes {found['modes']}"
    )
    follows = found["follows"]
    if follows is None:
        return
    cold, library = follows["cold_start_with_follows"], follows["library_with_follows"]
    cold_diff, library_diff = (
        follows["cold_start_paired_difference"],
        follows["library_paired_difference"],
    )
    print(
        f"follows setting: each reader follows the {follows['authors_followed']} most prolific"
        " authors of their library's papers (no votes), precision@10 (±95%):"
        f"\n  {'cold start with follows':40}{cold[0]:>8.3f} ±{cold[1]:.3f}"
        f"   vs without: {cold_diff[0]:+.3f} ±{cold_diff[1]:.3f}"
        f" ({follows['readers_changed_cold']} readers changed)"
        f"\n  {'library with follows':40}{library[0]:>8.3f} ±{library[1]:.3f}"
        f"   vs without: {library_diff[0]:+.3f} ±{library_diff[1]:.3f}"
        f" ({follows['readers_changed_library']} readers changed)"
        f"\n  candidates by a followed author per reader: mean"
        f" {follows['candidates_by_followed_authors_mean']:.2f}, of them in the reader's area"
        f" {follows['of_those_in_the_readers_area_mean']:.2f};"
        f" {follows['readers_with_a_followed_candidate']} readers have one"
    )


def print_sweep_and_timings(summary: dict[str, Any], candidates: int) -> None:
    if summary["best_regularisation_c"] is not None:
        overall = summary["regularisation_mean_over_n"]
        paired = summary["regularisation_paired_difference"]
        sweep = ", ".join(
            f"C={c}: {v:.3f} ({paired[c][0]:+.3f} ±{paired[c][1]:.3f})" for c, v in overall.items()
        )
        best, default = summary["best_regularisation_c"], summary["default_regularisation_c"]
        print(
            "\nregularisation sweep, mean over N (paired difference from the default run, ±95%):"
            f"\n  {sweep}; best C={best} (module default {default:g})"
        )
    timings = summary["timings_ms"]
    print(
        f"\nrecommend() median: {timings['recommend_first_call_median']:.0f} ms on the first call"
        f" after a vote (trains), {timings['recommend_stored_model_median']:.0f} ms with the"
        f" stored model; training median {timings['training_median']:.0f} ms"
        f" (max {timings['training_max']:.0f}); {timings['calls']} calls (readers x rounds);"
        f" {candidates} candidates per call"
    )
    background = summary["liked_papers_in_shared_background"]
    counts = ", ".join(f"N={n}: {count}" for n, count in background.items())
    print(f"liked papers also among the shared background negatives (all readers): {counts}")


def print_context(results: dict[str, Any]) -> None:
    """Data size, where the time went, machine, date and options."""
    sizes, timing, machine = results["data"], results["timings"], results["machine"]
    print(
        f"\ndata: {LISTING.name}, {sizes['file_papers']:,} dated lines; test window"
        f" {sizes['test_month']} ({sizes['test_month_papers']:,} papers, {sizes['test_pool']:,}"
        f" sampled as candidates); earlier {sizes['earlier_papers']:,} papers, of which"
        f" {sizes['background_sample']:,} sampled as library and {sizes['liked_papers']:,} liked;"
        f" {sizes['stored']:,} papers stored and embedded"
    )
    print(
        f"import {timing['import_s']:.1f} s; index build {timing['index_build_s']:.0f} s"
        f" ({timing['papers_per_s_index']:.1f} papers/s); evaluation {timing['evaluate_s']:.0f} s;"
        f" wall {results['wall_s']:.0f} s"
    )
    print(
        f"machine: {machine['cpus']} CPUs, {machine['platform']}, Python {machine['python']},"
        f" load average {machine['load_average_at_start']:.2f} at start; date {results['date']}"
    )
    print(f"options: {results['options']}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--quick", "--smoke", action="store_true", help="tiny run (< 60 s), for the smoke test")
    add("--json", "--json-out", dest="json", type=Path, help="also write the figures here")
    add("--seed", type=int, default=20261201)
    add("--test-papers", type=int, help="candidates sampled from the test month")
    add("--train-papers", type=int, help="earlier papers sampled as the rest of the library")
    add("--areas", type=int, help="at most this many areas (largest first)")
    add("--readers-per-area", type=int)
    add("--likes", type=int, nargs="+", help="N: upvotes per reader, one round each")
    add("--community-votes", type=float, default=0.03, help="share of test papers each upvotes")
    add("--min-area-papers", type=int, default=15, help="an area's fewest candidate papers")
    add("--regularisation", type=float, nargs="*", help="LogisticRegression C values to compare")
    add("--library", type=int, help="papers in each reader's imported library (0: skip)")
    add("--follows", type=int, help="authors each reader follows in the library round (0: skip)")
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.likes = sorted(set(args.likes))
    args.regularisation = tuple(args.regularisation)
    return args


def run(args: argparse.Namespace) -> dict[str, Any]:
    rows, undated = read_listing(LISTING)
    sample = draw_sample(rows, args)
    if not sample.readers:
        sys.exit("no area has enough papers for these options")
    by_id = {row.paper_id: row for row in rows}
    if args.library:
        earlier = [row for row in rows if row.month < sample.test_month]
        choose_follows(sample.readers, earlier, args.follows, args.library)
    liked = [by_id[pid] for reader in sample.readers for pid in reader.likes]
    del rows
    with tempfile.TemporaryDirectory(prefix="bench-recommend-") as scratch:
        corpus = Path(scratch) / "papers.jsonl"
        stored = write_generic([*sample.test_pool, *sample.background, *liked], corpus)
        sample.sizes.update(stored=stored, undated_lines=undated)
        engine, settings, timings = build_store(Path(scratch) / "home", corpus, stored)
        started = time.perf_counter()
        tally = evaluate(engine, settings, sample, args)
        timings["evaluate_s"] = time.perf_counter() - started
        engine.dispose()
    return {"data": sample.sizes, "timings": timings, "summary": summarise(tally, sample, args)}


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if not LISTING.exists():
        sys.exit(f"real data not found at {LISTING} (expected ../shared beside main)")
    started = time.perf_counter()
    load = os.getloadavg()[0]
    results = run(args)
    results["wall_s"] = time.perf_counter() - started
    results["machine"] = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "load_average_at_start": load,
    }
    results["date"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["options"] = {k: v for k, v in vars(args).items() if k != "json"}
    print_precision(results["summary"], [str(n) for n in args.likes])
    print_library(results["summary"])
    print_sweep_and_timings(results["summary"], results["data"]["test_pool"])
    print_context(results)
    if args.json:
        args.json.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
