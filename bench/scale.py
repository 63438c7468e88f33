"""Search at scale: time to keyword-searchable, embedding throughput, query latency, memory.

For one data set (the 74,728 real papers, or the synthetic all-of-arXiv set of 2.8 M):

1. `dailypapers import` runs as its own process; it ends by building the keyword index, so
   its wall time is the time from starting an import to keyword-searchable.
2. Embedding throughput of the model is measured on real abstracts (`--embed-sample`).
3. Every paper then gets a vector through the real pipeline (chunks, state, HNSW graph via
   `build_indexes`), but from a stand-in model: a real embedding of one of the sampled
   abstracts, picked by the text's hash, plus noise. Embedding 2.8 M abstracts with the real
   model takes far longer than a benchmark run (see the throughput figure), and latency does
   not depend on which vectors are stored, only on how many and how clustered.
4. At least 1,000 varied queries (title words, whole titles, phrases, category and date
   filters, long sentences) run one at a time in each mode, with the real model embedding
   each query as the site does (ONNX Runtime; PyTorch before 2026-12-07). p50/p99 latency,
   peak resident memory and index size on disk are reported.

    python -m bench.scale --source real
    python -m bench.scale --source synthetic          # 2.8 M (builds the file if missing)
    python -m bench.scale --smoke                      # tiny, for CI
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from bench.synth import BASE_CORPUS, DEFAULT_SEED, write_corpus
from dailypapers.config import Settings, load_settings
from dailypapers.index.build import build_indexes, index_status
from dailypapers.index.embeddings import Embedder, document_text, load_embedder
from dailypapers.index.keyword import update_keyword_index
from dailypapers.index.layout import IndexLayout
from dailypapers.index.onnx_encoder import load_query_encoder
from dailypapers.models import SearchMode
from dailypapers.search.service import Searcher
from dailypapers.store.engine import open_store

OUT_DIR = Path(__file__).resolve().parent / "out"
SYNTHETIC_COUNT = 2_800_000
MODES: tuple[SearchMode, ...] = ("keyword", "semantic", "hybrid")


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _iter_papers(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        for line in handle:
            yield orjson.loads(line)


class StandInEmbedder:
    """Vectors with the shape of real ones: a sampled real embedding plus noise, by text hash.

    They are stored under the real model's `name`: searches look vectors up by the name of the
    model that embeds their queries."""

    def __init__(self, real: np.ndarray, name: str, noise: float = 0.35) -> None:
        self.name = name
        self.dimensions = real.shape[1]
        self._real = real
        self._noise = noise

    def encode(self, texts: list[str]) -> np.ndarray:
        rows = []
        for text in texts:
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
            rng = np.random.default_rng(seed)
            vector = self._real[seed % len(self._real)] + self._noise * rng.standard_normal(
                self.dimensions
            ).astype(np.float32) / np.sqrt(self.dimensions)
            rows.append(vector / np.linalg.norm(vector))
        return np.vstack(rows).astype(np.float32)


def make_queries(sample: list[dict[str, Any]], count: int, seed: int) -> list[str]:
    """Varied queries from real titles and abstracts."""
    rng = random.Random(seed)
    queries: list[str] = []
    while len(queries) < count:
        paper = rng.choice(sample)
        words = [w for w in paper["title"].split() if len(w) > 3 and w.isalpha()]
        category = (paper.get("categories") or ["cs.LG"])[0]
        kind = len(queries) % 6
        if kind == 0 and len(words) >= 2:
            queries.append(" ".join(rng.sample(words, 2)))
        elif kind == 1:
            queries.append(" ".join(paper["title"].split()))
        elif kind == 2 and len(words) >= 3:
            queries.append(f'"{words[0]} {words[1]}" {words[2]}')
        elif kind == 3 and words:
            queries.append(f"{rng.choice(words)} cat:{category}")
        elif kind == 4 and len(words) >= 2:
            queries.append(f"{words[0]} {words[-1]} from:2025-06 -survey")
        elif kind == 5:
            sentence = paper["summary"].split(". ")[0]
            queries.append(" ".join(sentence.split()[:40]))
    return queries


def timed_import(settings: Settings, path: Path) -> float:
    environment = {**os.environ, "DAILYPAPERS_HOME": str(settings.home)}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "dailypapers", "-q", "import", str(path)],
        env=environment,
        check=True,
    )
    return time.perf_counter() - started


def embedding_throughput(
    embedder: Embedder, sample: list[dict[str, Any]]
) -> tuple[float, np.ndarray]:
    texts = [document_text(" ".join(p["title"].split()), p["summary"].strip()) for p in sample]
    embedder.encode(texts[:16])  # load the model first
    started = time.perf_counter()
    vectors = embedder.encode(texts)
    return len(texts) / (time.perf_counter() - started), vectors


def latency(searcher: Searcher, queries: list[str], mode: SearchMode) -> dict[str, float]:
    for query in queries[:20]:
        searcher.search(query, mode=mode, limit=10)
    times = []
    for query in queries:
        started = time.perf_counter()
        searcher.search(query, mode=mode, limit=10)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "queries": len(times),
        "p50_ms": statistics.median(times),
        "p99_ms": times[min(len(times) - 1, int(0.99 * len(times)))],
        "mean_ms": statistics.fmean(times),
        "max_ms": times[-1],
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.smoke:
        source = OUT_DIR / "real-head-2000.jsonl.gz"
        if not source.exists():
            source.parent.mkdir(parents=True, exist_ok=True)
            with gzip.open(BASE_CORPUS, "rb") as full, gzip.open(source, "wb") as head:
                for number, line in enumerate(full):
                    if number == 2000:
                        break
                    head.write(line)
    elif args.source == "real":
        source = BASE_CORPUS
    else:
        source = OUT_DIR / f"synthetic-{SYNTHETIC_COUNT}-seed{DEFAULT_SEED}.jsonl"
        if not source.exists():
            write_corpus(source, SYNTHETIC_COUNT)
    home = OUT_DIR / f"scale-{'smoke' if args.smoke else args.source}"
    if not args.reuse:
        shutil.rmtree(home, ignore_errors=True)
    settings = load_settings({}, home=home)
    result: dict[str, Any] = {"source": str(source), "home": str(home)}
    if not args.reuse:
        result["import_and_keyword_index_s"] = timed_import(settings, source)
    engine = open_store(settings)
    started = time.perf_counter()
    with IndexLayout.under(settings.home).writer_lock():
        # Nothing to do after a fresh import (it indexed); with --reuse after a change of the
        # keyword index format, this is a full keyword index build.
        result["keyword_indexed_after_import"] = update_keyword_index(
            engine, IndexLayout.under(settings.home)
        )
    result["keyword_sync_s"] = time.perf_counter() - started
    sample = [p for _, p in zip(range(args.embed_sample), _iter_papers(BASE_CORPUS), strict=False)]
    model = load_embedder(args.model)
    docs_per_s, real_vectors = embedding_throughput(model, sample)
    status = index_status(engine, settings)
    result["papers"] = status.papers
    result["embedding"] = {
        "model": model.name,
        "sample_docs": len(sample),
        "docs_per_s": docs_per_s,
        "projected_hours_for_all": status.papers / docs_per_s / 3600,
    }
    started = time.perf_counter()
    build_indexes(engine, settings, embedder=StandInEmbedder(real_vectors, model.name))
    result["vector_pipeline_s"] = time.perf_counter() - started
    status = index_status(engine, settings)
    result["index"] = {
        "keyword_documents": status.keyword_documents,
        "vectors": status.vectors,
        "vectors_in_graph": status.vectors_in_graph,
        "disk_mb": status.disk_bytes / 1e6,
    }
    # Queries are encoded as the site encodes them (ONNX Runtime, exported on first use).
    searcher = Searcher(
        engine, settings, embedder=load_query_encoder(args.model, home=settings.home)
    )
    queries = make_queries(sample, args.queries, seed=DEFAULT_SEED)
    result["latency"] = {mode: latency(searcher, queries, mode) for mode in MODES}
    result["rss_mb_after_queries"] = _status_mb("VmRSS")
    result["peak_rss_mb"] = _status_mb("VmHWM")
    engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", choices=["real", "synthetic"], default="real")
    parser.add_argument("--queries", type=int, default=1200)
    parser.add_argument("--embed-sample", type=int, default=2000)
    parser.add_argument("--model", default="all-minilm-l6-v2")
    parser.add_argument("--reuse", action="store_true", help="keep the imported store")
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    if args.smoke:
        args.queries, args.embed_sample = 60, 64
    started = time.perf_counter()
    result = run(args)
    result["wall_s"] = time.perf_counter() - started
    result["machine"] = {
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
    }
    result["date"] = datetime.now(UTC).isoformat(timespec="seconds")
    text = orjson.dumps(result, option=orjson.OPT_INDENT_2)
    if args.json_out:
        args.json_out.write_bytes(text)
    print(text.decode())


if __name__ == "__main__":
    main()
