"""Hybrid search latency with and without the learned ranker, side by side, on a store that
`bench/scale.py` built (74,728 real papers with `--source real`, 2.8 M with `synthetic`).

The queries are bench/scale.py's varied queries (title words, titles, phrases, filters, long
sentences) plus our 110 judged arXiv queries (questions and long descriptions have the most
words, so the most work for the ranker's features). Each round runs every query with the
ranker off, then on; rounds repeat and the medians of their p50 and p99 are reported. Queries
are encoded as the site and the command line encode them (ONNX Runtime, exported into the
store's home on first use); before 2026-12-07 this benchmark encoded them with PyTorch, about
5 ms slower a query.

    python -m bench.scale --source real --queries 60     # once: builds bench/out/scale-real
    python -m bench.ranker_latency --source real --rounds 3
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench.quality import QUERIES
from bench.scale import OUT_DIR, _iter_papers, make_queries
from bench.synth import BASE_CORPUS, DEFAULT_SEED
from dailypapers.config import load_settings
from dailypapers.index.onnx_encoder import load_query_encoder
from dailypapers.search.ranker import Ranker, shipped_ranker
from dailypapers.search.service import Searcher
from dailypapers.store.engine import open_store


def timed(searcher: Searcher, queries: list[str]) -> list[float]:
    times = []
    for query in queries:
        started = time.perf_counter()
        searcher.search(query, mode="hybrid", limit=10)
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)


def percentile(times: list[float], share: float) -> float:
    return times[min(len(times) - 1, int(share * len(times)))]


def run(args: argparse.Namespace) -> dict[str, Any]:
    home = OUT_DIR / f"scale-{args.source}"
    if not (home / "index" / "CURRENT.json").exists():
        raise SystemExit(f"no store in {home}: run python -m bench.scale --source {args.source}")
    settings = load_settings({}, home=home)
    encoder = load_query_encoder(args.model, home=home)
    searcher = Searcher(open_store(settings), settings, embedder=encoder)
    ranker: Ranker | None = Ranker.load(args.ranker) if args.ranker else shipped_ranker()
    if ranker is None:
        raise SystemExit("no ranker model: train one with python -m bench.train_ranker")
    sample = [p for _, p in zip(range(2000), _iter_papers(BASE_CORPUS), strict=False)]
    ours = [
        orjson.loads(line)["text"]
        for line in (QUERIES / "arxiv-2506.queries.jsonl").read_bytes().splitlines()
    ]
    sets = {"varied": make_queries(sample, args.queries, seed=DEFAULT_SEED), "ours": ours}
    for text in sets["varied"][:20] + ours[:20]:  # load the model and warm the caches
        searcher.search(text, mode="hybrid", limit=10)
    rounds: dict[str, dict[str, list[dict[str, float]]]] = {
        name: {"off": [], "on": []} for name in sets
    }
    for _ in range(args.rounds):
        for name, queries in sets.items():
            for setting in ("off", "on"):
                searcher.ranker = ranker if setting == "on" else None
                times = timed(searcher, queries)
                rounds[name][setting].append(
                    {"p50": statistics.median(times), "p99": percentile(times, 0.99)}
                )
    result: dict[str, Any] = {
        "home": str(home),
        "papers": searcher.keyword_index().documents,
        "query_encoder": type(encoder).__name__,
    }
    for name, by_setting in rounds.items():
        summary = {
            setting: {stat: statistics.median(r[stat] for r in runs) for stat in ("p50", "p99")}
            for setting, runs in by_setting.items()
        }
        summary["added_ms"] = {
            stat: summary["on"][stat] - summary["off"][stat] for stat in ("p50", "p99")
        }
        result[name] = {"queries": len(sets[name]), **summary, "rounds": by_setting}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", choices=["real", "synthetic"], default="real")
    parser.add_argument("--queries", type=int, default=1200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", default="all-minilm-l6-v2")
    parser.add_argument("--ranker", type=Path, help="a ranker model file (default: shipped)")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    started = time.perf_counter()
    result = run(args)
    result["wall_s"] = time.perf_counter() - started
    result["machine"] = {
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
    }
    result["date"] = datetime.now(UTC).isoformat(timespec="seconds")
    if args.json_out:
        args.json_out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    for name in ("varied", "ours"):
        row = result[name]
        print(
            f"{name:7} {row['queries']:5} queries  hybrid p50 {row['off']['p50']:6.1f} -> "
            f"{row['on']['p50']:6.1f} ms   p99 {row['off']['p99']:6.1f} -> "
            f"{row['on']['p99']:6.1f} ms"
        )


if __name__ == "__main__":
    main()
