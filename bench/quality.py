"""Search quality on BEIR SciFact: nDCG@10 and recall@100 for keyword, semantic and hybrid.

The corpus is imported through the generic JSON-lines importer (one paper per doc, id = `_id`)
and indexed with `build_indexes`, exactly as a user's papers are. The hybrid keyword weight is
tuned on the *train* queries only and reported on the 300 *test* queries, beside the published
baselines in ../shared/data/scifact/published-baselines.json.

    python -m bench.quality                  # full run (embeds 5,183 abstracts on the CPU)
    python -m bench.quality --smoke          # tiny, for CI: 300 docs, 20 queries
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import orjson

from dailypapers.config import load_settings
from dailypapers.index.build import build_indexes
from dailypapers.index.embeddings import Embedder, load_embedder
from dailypapers.ingest.files import ImportOptions, import_paths
from dailypapers.search.fusion import reciprocal_rank_fusion
from dailypapers.search.service import Searcher, SearchMode
from dailypapers.store.engine import open_store
from dailypapers.store.papers import count_papers

SCIFACT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "scifact"
WEIGHTS = [round(0.05 * step, 2) for step in range(21)]
DEPTH = 100


class CachedEmbedder:
    """Remembers query vectors, so tuning runs each query through the model once."""

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


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    for number, line in enumerate(path.read_text().splitlines()):
        parts = line.strip().split("\t")
        if number == 0 or len(parts) < 3:
            continue
        qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return qrels


def ndcg_at(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    gains = sum(relevant.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    best = sum(gain / math.log2(rank + 2) for rank, gain in enumerate(ideal))
    return gains / best if best else 0.0


def recall_at(ranked: list[str], relevant: dict[str, int], k: int = 100) -> float:
    return len(set(ranked[:k]) & set(relevant)) / len(relevant)


@dataclass
class Scores:
    ndcg10: float
    recall100: float

    @classmethod
    def of(cls, runs: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> Scores:
        return cls(
            statistics.fmean(ndcg_at(runs.get(q, []), rel) for q, rel in qrels.items()),
            statistics.fmean(recall_at(runs.get(q, []), rel) for q, rel in qrels.items()),
        )


def run_mode(
    searcher: Searcher, queries: dict[str, str], ids: Iterable[str], mode: SearchMode
) -> tuple[dict[str, list[str]], list[float]]:
    runs: dict[str, list[str]] = {}
    latencies: list[float] = []
    for query_id in ids:
        started = time.perf_counter()
        results = searcher.search(queries[query_id], mode=mode, limit=DEPTH)
        latencies.append(time.perf_counter() - started)
        runs[query_id] = [hit.paper_id for hit in results.hits]
    return runs, latencies


def prepare(home: Path, corpus: Path, embedder: Embedder) -> tuple[Searcher, dict[str, float]]:
    settings = load_settings({}, home=home)
    engine = open_store(settings)
    started = time.perf_counter()
    options = ImportOptions("generic", datetime.now(UTC).date(), settings.import_batch_size)
    summary = import_paths(engine, [corpus], options, now=datetime.now(UTC))
    imported = time.perf_counter() - started
    assert summary.failed == 0, summary.failures[:3]
    started = time.perf_counter()
    build_indexes(engine, settings, embedder=embedder)
    built = time.perf_counter() - started
    searcher = Searcher(engine, settings, embedder=embedder)
    papers = count_papers(engine)
    return searcher, {"import_s": imported, "index_s": built, "papers": papers}


def evaluate(args: argparse.Namespace) -> dict[str, object]:
    queries = {
        row["_id"]: row["text"]
        for row in map(orjson.loads, (SCIFACT / "queries.jsonl").read_bytes().splitlines())
    }
    train = load_qrels(SCIFACT / "qrels" / "train.tsv")
    test = load_qrels(SCIFACT / "qrels" / "test.tsv")
    corpus = SCIFACT / "corpus.jsonl"
    with tempfile.TemporaryDirectory() as scratch:
        home = args.home or Path(scratch) / "home"
        if args.smoke:
            test = dict(list(test.items())[:20])
            train = dict(list(train.items())[:20])
            wanted = {doc for rel in (*test.values(), *train.values()) for doc in rel}
            lines = corpus.read_bytes().splitlines()
            keep = [ln for ln in lines if orjson.loads(ln)["_id"] in wanted] + lines[:300]
            corpus = Path(scratch) / "corpus.jsonl"
            corpus.write_bytes(b"\n".join(dict.fromkeys(keep)) + b"\n")
        embedder = CachedEmbedder(load_embedder(args.model))
        searcher, timings = prepare(home, corpus, embedder)
        if embedder.seconds:
            timings["embed_docs_per_s"] = embedder.texts / embedder.seconds
        results: dict[str, object] = {"timings": timings}
        runs: dict[str, dict[str, dict[str, list[str]]]] = {"train": {}, "test": {}}
        latency: dict[str, float] = {}
        for mode in ("keyword", "semantic"):
            for split, qrels in (("train", train), ("test", test)):
                runs[split][mode], times = run_mode(searcher, queries, qrels, mode)
                if split == "test":
                    latency[mode] = statistics.median(times) * 1000
        tuning = {}
        for weight in WEIGHTS:
            searcher.keyword_weight = weight
            ranked, _ = run_mode(searcher, queries, train, "hybrid")
            tuning[weight] = Scores.of(ranked, train).ndcg10
        best = max(tuning, key=lambda w: (tuning[w], -abs(w - 0.5)))
        searcher.keyword_weight = best
        for split, qrels in (("train", train), ("test", test)):
            runs[split]["hybrid"], times = run_mode(searcher, queries, qrels, "hybrid")
            if split == "test":
                latency["hybrid"] = statistics.median(times) * 1000
            runs[split]["rrf"] = {
                q: [
                    d
                    for d, _ in reciprocal_rank_fusion(
                        runs[split]["keyword"][q], runs[split]["semantic"][q]
                    )
                ][:DEPTH]
                for q in qrels
            }
        results["tuning_train_ndcg10"] = tuning
        results["chosen_keyword_weight"] = best
        results["scores"] = {
            split: {mode: vars(Scores.of(r, qrels)) for mode, r in runs[split].items()}
            for split, qrels in (("train", train), ("test", test))
        }
        results["median_latency_ms_test"] = latency
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI")
    parser.add_argument("--model", default="all-minilm-l6-v2")
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--home", type=Path, help="keep the store and indexes here (reused)")
    args = parser.parse_args()
    if not SCIFACT.exists():
        sys.exit(f"SciFact not found at {SCIFACT}")
    started = time.perf_counter()
    results = evaluate(args)
    results["machine"] = {
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
    }
    results["date"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["wall_s"] = time.perf_counter() - started
    text = orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)
    if args.json_out:
        args.json_out.write_bytes(text)
    print(text.decode())
    for split in ("train", "test"):
        for mode, scores in results["scores"][split].items():  # type: ignore[index]
            print(
                f"{split:5} {mode:8} nDCG@10 {scores['ndcg10']:.4f}  recall@100 "
                f"{scores['recall100']:.4f}"
            )


if __name__ == "__main__":
    main()
