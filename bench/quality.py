"""Search quality: BEIR SciFact by mode, and our own arXiv query set by query style.

Both corpora are imported and indexed exactly as a user's papers are, and queries go through
`Searcher.search` as typed, encoded as the site encodes them (its ONNX encoder, int8 by default;
`--queries`). Every figure is measured side by side with the previous release in the same run:
"before" is the hybrid fusion without the learned ranker, with the old query stop words
(Lucene's 33) and queries encoded by PyTorch, which is what `/api/v1/search` answered until
the ranker came.

- SciFact (`../shared/data/scifact`, 5,183 abstracts): nDCG@10 and recall@100 on the 300
  *test* queries (the ranker never trains on them; it learns from the 809 *train* queries).
- arXiv (`bench/queries/`): 149 queries of five styles over the 5,020 cs papers of June 2025
  (ids 2506.*) from `../shared/data/arxiv-cs-2025`, judged 0/1/2 by reading titles and
  abstracts (20 title and 19 long-description queries were added later, judged the same way
  over every compared system's top 10-15); half are the ranker's development set, half held
  out (reported, never trained on). A plain BM25 over title + abstract (no stemming, no stop
  words) is the reference.

    python -m bench.quality --home bench/out/quality   # full run; the stores are kept and reused
    python -m bench.quality --smoke                    # tiny, for CI
"""

from __future__ import annotations

import argparse
import collections
import gzip
import math
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import numpy as np
import orjson
from scipy import sparse

from dailypapers.config import QueryPrecision, load_settings
from dailypapers.index.build import build_indexes
from dailypapers.index.embeddings import Embedder, load_embedder
from dailypapers.index.keyword import query_word_analyzer
from dailypapers.index.onnx_encoder import load_query_encoder
from dailypapers.ingest.files import ImportOptions, import_paths
from dailypapers.models import SearchMode
from dailypapers.search.fusion import reciprocal_rank_fusion
from dailypapers.search.ranker import Ranker, shipped_ranker
from dailypapers.search.service import Searcher
from dailypapers.store.engine import open_store

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SCIFACT = DATA / "scifact"
ARXIV_SOURCE = DATA / "arxiv-cs-2025" / "arxiv-cs-2025-03_2026-07.jsonl.gz"
ARXIV_MONTH = "2506."  # June 2025
QUERIES = Path(__file__).resolve().parent / "queries"
STYLES = ("keyword", "question", "title", "long", "author")
DEPTH = 100
# tantivy's "english" stop list (Lucene's), what free query words dropped before this change.
LUCENE_STOP_WORDS = tuple(
    "a an and are as at be but by for if in into is it no not of on or such that the their then "
    "there these they this to was will with".split()
)


class CachedEmbedder:
    """Remembers query vectors, so each query goes through the model once per run."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimensions = inner.dimensions
        self._cache: dict[str, np.ndarray] = {}
        self.seconds = 0.0
        self.texts = 0

    def encode(self, texts: list[str]) -> np.ndarray:
        if len(texts) != 1:
            started = time.perf_counter()
            vectors = self.inner.encode(texts)
            self.seconds += time.perf_counter() - started
            self.texts += len(texts)
            return vectors
        if texts[0] not in self._cache:
            self._cache[texts[0]] = self.inner.encode(texts)[0]
        return self._cache[texts[0]][None, :]


@dataclass
class QuerySet:
    """Queries with graded judgements; `style` and `split` are set for our own set only."""

    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    style: dict[str, str] = field(default_factory=dict)
    split: dict[str, str] = field(default_factory=dict)

    def only(self, ids: Iterable[str]) -> QuerySet:
        keep = [q for q in ids if q in self.qrels]
        return QuerySet(
            {q: self.queries[q] for q in keep},
            {q: self.qrels[q] for q in keep},
            {q: self.style[q] for q in keep if q in self.style},
            {q: self.split[q] for q in keep if q in self.split},
        )


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    """BEIR-style judgements: a header line, then query id, document id, grade (tabs)."""
    qrels: dict[str, dict[str, int]] = {}
    for number, line in enumerate(path.read_text().splitlines()):
        parts = line.strip().split("\t")
        if number == 0 or len(parts) < 3:
            continue
        qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return qrels


def scifact_sets(smoke: bool, scratch: Path) -> tuple[QuerySet, QuerySet, Path]:
    """SciFact train and test queries, and the corpus file (a small part of it with `smoke`)."""
    queries = {
        row["_id"]: row["text"]
        for row in map(orjson.loads, (SCIFACT / "queries.jsonl").read_bytes().splitlines())
    }
    train = load_qrels(SCIFACT / "qrels" / "train.tsv")
    test = load_qrels(SCIFACT / "qrels" / "test.tsv")
    corpus = SCIFACT / "corpus.jsonl"
    if smoke:
        train = dict(list(train.items())[:20])
        test = dict(list(test.items())[:20])
        wanted = {doc for rel in (*test.values(), *train.values()) for doc in rel}
        lines = corpus.read_bytes().splitlines()
        keep = [ln for ln in lines if orjson.loads(ln)["_id"] in wanted] + lines[:300]
        corpus = scratch / "scifact-smoke.jsonl"
        corpus.write_bytes(b"\n".join(dict.fromkeys(keep)) + b"\n")
    return (
        QuerySet({q: queries[q] for q in train}, train),
        QuerySet({q: queries[q] for q in test}, test),
        corpus,
    )


def arxiv_set(smoke: bool, scratch: Path) -> tuple[QuerySet, Path]:
    """Our judged arXiv queries and the June 2025 papers they were judged on."""
    queries, style, split = {}, {}, {}
    for line in (QUERIES / "arxiv-2506.queries.jsonl").read_bytes().splitlines():
        row = orjson.loads(line)
        queries[row["id"]], style[row["id"]], split[row["id"]] = (
            row["text"],
            row["style"],
            row["split"],
        )
    qrels = load_qrels(QUERIES / "arxiv-2506.qrels.tsv")
    judged = QuerySet(queries, qrels, style, split)
    corpus = scratch / "arxiv-2506.jsonl"
    if smoke:
        judged = judged.only([q for q in queries if q.endswith("01")])
        corpus = scratch / "arxiv-2506-smoke.jsonl"
    if not corpus.exists():
        wanted = {doc for rel in judged.qrels.values() for doc in rel}
        with gzip.open(ARXIV_SOURCE, "rb") as source:
            lines = [
                line
                for line in source
                if orjson.loads(line)["id"].startswith(ARXIV_MONTH)
                and (not smoke or orjson.loads(line)["id"] in wanted)
            ]
        corpus.write_bytes(b"".join(lines))
    return judged, corpus


def prepare(home: Path, corpus: Path, embedder: Embedder, fmt: str) -> Searcher:
    """Import `corpus` into the store in `home` and index it (again: a no-op when done)."""
    settings = load_settings({}, home=home)
    engine = open_store(settings)
    options = ImportOptions(fmt, datetime.now(UTC).date(), settings.import_batch_size)
    summary = import_paths(engine, [corpus], options, now=datetime.now(UTC))
    assert summary.failed == 0, summary.failures[:3]
    build_indexes(engine, settings, embedder=embedder)
    return Searcher(engine, settings, embedder=embedder)


def encoded_by(searcher: Searcher, model: str, queries: str) -> Searcher:
    """The same store and indexes, with queries encoded by the site's ONNX encoder with
    weights of `queries` (int8 or float32), or `searcher` itself for "pytorch"."""
    if queries == "pytorch":
        return searcher
    home = searcher.settings.home
    encoder = load_query_encoder(model, home=home, precision=cast(QueryPrecision, queries))
    assert encoder.name == searcher.embedder().name, "the query encoder fell back to another"
    return Searcher(searcher.engine, searcher.settings, embedder=CachedEmbedder(encoder))


def ndcg_at(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    gains = sum(relevant.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    best = sum(gain / math.log2(rank + 2) for rank, gain in enumerate(ideal))
    return gains / best if best else 0.0


def recall_at(ranked: list[str], relevant: dict[str, int], k: int = 100) -> float:
    wanted = {doc for doc, grade in relevant.items() if grade > 0}
    return len(set(ranked[:k]) & wanted) / len(wanted) if wanted else 0.0


Run = dict[str, list[str]]


def run_searches(
    searcher: Searcher, queries: dict[str, str], mode: SearchMode
) -> tuple[Run, list[float]]:
    runs: Run = {}
    latencies: list[float] = []
    for query_id, text in queries.items():
        started = time.perf_counter()
        results = searcher.search(text, mode=mode, limit=DEPTH)
        latencies.append(time.perf_counter() - started)
        runs[query_id] = [hit.paper_id for hit in results.hits]
    return runs, latencies


class PlainBM25:
    """The reference: BM25 (k1 1.2, b 0.75) over title + abstract, lowercased words, nothing
    else (no stemming, no stop words, no title weight), like rank_bm25 or bm25s by default."""

    def __init__(self, documents: list[tuple[str, str]], k1: float = 1.2, b: float = 0.75):
        self.ids = [doc_id for doc_id, _ in documents]
        self.vocabulary: dict[str, int] = {}
        rows, columns, counts, lengths = [], [], [], []
        for row, (_, text) in enumerate(documents):
            words = self.words(text)
            lengths.append(len(words))
            for word, count in collections.Counter(words).items():
                rows.append(row)
                columns.append(self.vocabulary.setdefault(word, len(self.vocabulary)))
                counts.append(count)
        shape = (len(documents), len(self.vocabulary))
        tf = sparse.coo_matrix((counts, (rows, columns)), shape=shape, dtype=np.float64)
        length = np.asarray(lengths, np.float64)
        documents_with = np.bincount(tf.col, minlength=shape[1])
        self.idf = np.log(1 + (shape[0] - documents_with + 0.5) / (documents_with + 0.5))
        norm = k1 * (1 - b + b * length[tf.row] / length.mean())
        weight = tf.data * (k1 + 1) / (tf.data + norm) * self.idf[tf.col]
        self.weights = sparse.csc_matrix((weight, (tf.row, tf.col)), shape=shape)

    @staticmethod
    def words(text: str) -> list[str]:
        return re.findall(r"[^\W_]+", text.lower())

    def search(self, text: str, limit: int) -> list[str]:
        columns = [self.vocabulary[w] for w in self.words(text) if w in self.vocabulary]
        scores = np.asarray(self.weights[:, columns].sum(axis=1)).ravel()
        top = np.argsort(-scores, kind="stable")[:limit]
        return [self.ids[row] for row in top if scores[row] > 0]


def arxiv_reference(corpus: Path) -> PlainBM25:
    rows = [orjson.loads(line) for line in corpus.read_bytes().splitlines()]
    return PlainBM25([(row["id"], f"{row['title']}\n{row['summary']}") for row in rows])


@dataclass
class Systems:
    """Every ranking compared, on one store: the "before" rows are the previous release
    (the old stop words, no ranker, queries encoded by PyTorch), searched by `before`; the
    others by `searcher`, whose queries are encoded as the site encodes them."""

    searcher: Searcher
    before: Searcher
    ranker: Ranker | None

    def _set(self, searcher: Searcher, *, ranker: bool, old_stop_words: bool) -> None:
        searcher.ranker = self.ranker if ranker else None
        keyword = searcher.keyword_index()
        keyword.query_words = (
            query_word_analyzer(LUCENE_STOP_WORDS) if old_stop_words else query_word_analyzer()
        )

    def runs(self, queries: dict[str, str]) -> tuple[dict[str, Run], dict[str, float]]:
        runs: dict[str, Run] = {}
        latency: dict[str, float] = {}
        plan: list[tuple[str, SearchMode, bool, bool]] = [
            ("keyword before", "keyword", False, True),
            ("keyword", "keyword", False, False),
            ("semantic", "semantic", False, False),
            ("hybrid before", "hybrid", False, True),
            ("hybrid fusion", "hybrid", False, False),
        ]
        if self.ranker is not None:
            plan.append(("hybrid", "hybrid", True, False))
        for name, mode, ranker, old in plan:
            searcher = self.before if old else self.searcher
            self._set(searcher, ranker=ranker, old_stop_words=old)
            runs[name], times = run_searches(searcher, queries, mode)
            latency[name] = statistics.median(times) * 1000
            self._set(searcher, ranker=True, old_stop_words=False)
        runs["rrf"] = {
            q: [d for d, _ in reciprocal_rank_fusion(runs["keyword"][q], runs["semantic"][q])]
            for q in queries
        }
        return runs, latency


def scores(runs: dict[str, Run], judged: QuerySet) -> dict[str, dict[str, float]]:
    return {
        name: {
            "ndcg10": statistics.fmean(ndcg_at(run.get(q, []), r) for q, r in judged.qrels.items()),
            "recall100": statistics.fmean(
                recall_at(run.get(q, []), r) for q, r in judged.qrels.items()
            ),
        }
        for name, run in runs.items()
    }


def by_style(runs: dict[str, Run], judged: QuerySet) -> dict[str, dict[str, float]]:
    """nDCG@10 per system and query style (and "all"), plus the share of unjudged top 10."""
    table: dict[str, dict[str, float]] = {}
    for name, run in runs.items():
        values: dict[str, list[float]] = collections.defaultdict(list)
        unjudged = []
        for q, relevant in judged.qrels.items():
            score = ndcg_at(run.get(q, []), relevant)
            values[judged.style[q]].append(score)
            values["all"].append(score)
            top = run.get(q, [])[:10]
            unjudged.append(sum(d not in relevant for d in top) / max(1, len(top)))
        table[name] = {style: statistics.fmean(v) for style, v in values.items()}
        # A split may hold no judged query (the smoke run's few papers): no figure, not a crash.
        table[name]["unjudged_top10"] = statistics.fmean(unjudged) if unjudged else math.nan
    return table


def evaluate(args: argparse.Namespace, ranker: Ranker | None) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = args.home or Path(scratch_dir)
        scratch.mkdir(parents=True, exist_ok=True)
        embedder = CachedEmbedder(load_embedder(args.model))
        train, test, scifact_corpus = scifact_sets(args.smoke, scratch)
        arxiv, arxiv_corpus = arxiv_set(args.smoke, scratch)
        started = time.perf_counter()
        scifact = prepare(scratch / "scifact", scifact_corpus, embedder, "generic")
        papers = prepare(scratch / "arxiv", arxiv_corpus, embedder, "auto")
        results: dict[str, object] = {"index_s": time.perf_counter() - started}
        if embedder.seconds:
            results["embed_docs_per_s"] = embedder.texts / embedder.seconds
        systems = Systems(encoded_by(scifact, args.model, args.queries), scifact, ranker)
        for split, judged in (("train", train), ("test", test)):
            if split == "train" and args.test_only:
                continue
            runs, latency = systems.runs(judged.queries)
            results[f"scifact_{split}"] = scores(runs, judged)
            results[f"scifact_{split}_median_ms"] = latency
        site = encoded_by(papers, args.model, args.queries)
        runs, latency = Systems(site, papers, ranker).runs(arxiv.queries)
        reference = arxiv_reference(arxiv_corpus)
        runs["plain BM25"] = {q: reference.search(t, DEPTH) for q, t in arxiv.queries.items()}
        for split in ("dev", "heldout"):
            part = arxiv.only([q for q, s in arxiv.split.items() if s == split])
            results[f"arxiv_{split}"] = by_style(runs, part)
        results["arxiv_median_ms"] = latency
        results["arxiv_runs"] = {
            name: {q: r[:10] for q, r in run.items()} for name, run in runs.items()
        }
    return results


def print_tables(results: dict[str, object]) -> None:
    for split in ("train", "test"):
        table = results.get(f"scifact_{split}", {})
        assert isinstance(table, dict)
        for name, value in table.items():
            print(
                f"SciFact {split:5} {name:15} nDCG@10 {value['ndcg10']:.4f}  "
                f"recall@100 {value['recall100']:.4f}"
            )
    for split in ("dev", "heldout"):
        table = results[f"arxiv_{split}"]
        assert isinstance(table, dict)
        print(f"\narXiv {split}: nDCG@10 by query style (unjudged: share of top 10 not judged)")
        print(f"{'system':15} " + " ".join(f"{s:>8}" for s in (*STYLES, "all", "unjudged")))
        for name, value in table.items():
            cells = [value.get(s, 0.0) for s in (*STYLES, "all", "unjudged_top10")]
            print(f"{name:15} " + " ".join(f"{c:8.3f}" for c in cells))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI")
    parser.add_argument("--model", default="all-minilm-l6-v2")
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--home", type=Path, help="keep the stores and indexes here (reused)")
    parser.add_argument(
        "--test-only",
        action="store_true",
        help="skip the 809 SciFact train queries (a third of the time)",
    )
    parser.add_argument(
        "--ranker", type=Path, help="a ranker model file (default: the shipped one)"
    )
    parser.add_argument(
        "--queries",
        choices=("int8", "float32", "pytorch"),
        default="int8",
        help="what encodes the queries of every system but the previous release's (PyTorch): "
        "the site's ONNX encoder (int8, its default, or float32) or PyTorch too",
    )
    args = parser.parse_args(argv)
    if not SCIFACT.exists() or not ARXIV_SOURCE.exists():
        sys.exit(f"the data sets are not in {DATA}")
    started = time.perf_counter()
    ranker = Ranker.load(args.ranker) if args.ranker else shipped_ranker()
    results = evaluate(args, ranker)
    results["ranker"] = str(args.ranker or "shipped") if ranker else None
    results["queries_encoded_by"] = args.queries
    results["machine"] = {
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
    }
    results["date"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["wall_s"] = time.perf_counter() - started
    if args.json_out:
        args.json_out.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    print_tables(results)


if __name__ == "__main__":
    main()
