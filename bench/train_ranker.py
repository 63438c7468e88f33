"""Train the learned ranker: LightGBM lambdarank over the hybrid candidates' features.

Training queries: the 809 SciFact *train* queries and the *dev* half of our arXiv set
(`bench/queries/`); never SciFact test or the arXiv held-out half. Each query's candidates
and features come from `Searcher.ranking_features`, the code path searches use, so the model
sees at training exactly what it sees when serving. LightGBM runs single-threaded with fixed
seeds, so the same data gives the same model file, byte for byte.

    python -m bench.train_ranker --home bench/out/quality    # writes the shipped model
    python -m bench.train_ranker --cv           # and 5-fold CV on the training queries
    python -m bench.train_ranker --smoke --out /tmp/m.txt     # tiny, for CI
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# LightGBM must be loaded before usearch (which the index modules import): loaded afterwards,
# in the same process, it fails to name features ("Feature (Column_) appears more than one
# time").
import lightgbm
import numpy as np

from bench.quality import (
    ARXIV_SOURCE,
    SCIFACT,
    CachedEmbedder,
    QuerySet,
    arxiv_set,
    ndcg_at,
    prepare,
    scifact_sets,
)
from dailypapers.index.embeddings import load_embedder
from dailypapers.search.features import FEATURE_NAMES
from dailypapers.search.ranker import MODEL_FILE, Ranker
from dailypapers.search.service import Searcher

SEED = 20261204
# Our arXiv queries are few (75 in the dev half) beside 809 SciFact claims, and closer to what
# people type.
ARXIV_WEIGHT = 4.0
PARAMETERS: dict[str, object] = {
    "objective": "lambdarank",
    "metric": "ndcg",
    "eval_at": [10],
    "label_gain": [0, 1, 3],
    "lambdarank_truncation_level": 20,
    "num_leaves": 15,
    "max_depth": 5,
    "min_data_in_leaf": 40,
    "learning_rate": 0.05,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "num_threads": 1,
    "deterministic": True,
    "force_row_wise": True,
    "seed": SEED,
    "verbose": -1,
}
ROUNDS = 200


@dataclass
class Group:
    """One training query: its candidates' features and grades."""

    query_id: str
    paper_ids: list[str]
    features: np.ndarray
    labels: np.ndarray
    weight: float


def groups_for(searcher: Searcher, judged: QuerySet, weight: float) -> list[Group]:
    """Candidates of every query with at least one relevant candidate (others teach nothing)."""
    found = []
    for query_id, text in judged.queries.items():
        paper_ids, features = searcher.ranking_features(text)
        relevant = judged.qrels.get(query_id, {})
        labels = np.array([relevant.get(p, 0) for p in paper_ids], dtype=np.float64)
        if labels.any():
            found.append(Group(query_id, paper_ids, features, labels, weight))
    return found


def train(groups: list[Group], rounds: int = ROUNDS) -> lightgbm.Booster:
    """A LightGBM lambdarank booster over the groups' candidates."""
    data = lightgbm.Dataset(
        np.vstack([g.features for g in groups]),
        label=np.concatenate([g.labels for g in groups]),
        group=[len(g.paper_ids) for g in groups],
        weight=np.concatenate([np.full(len(g.paper_ids), g.weight) for g in groups]),
        feature_name=list(FEATURE_NAMES),
        params={"max_bin": 255, "verbose": -1},
    )
    return lightgbm.train(PARAMETERS, data, num_boost_round=rounds)


def reranked_ndcg(ranker: Ranker, groups: list[Group], qrels: QuerySet) -> tuple[float, float]:
    """nDCG@10 of the candidates in fusion order and in the ranker's order."""
    fusion, learned = [], []
    for group in groups:
        relevant = qrels.qrels[group.query_id]
        fusion.append(ndcg_at(group.paper_ids, relevant))
        order = np.argsort(-ranker.score(group.features), kind="stable")
        learned.append(ndcg_at([group.paper_ids[i] for i in order], relevant))
    return statistics.fmean(fusion), statistics.fmean(learned)


def cross_validate(groups: list[Group], judged: QuerySet, folds: int = 5) -> None:
    """Train on 4/5 of the training queries and score the rest, 5 times."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "fold.txt"
        for fold in range(folds):
            held = [g for i, g in enumerate(groups) if i % folds == fold]
            kept = [g for i, g in enumerate(groups) if i % folds != fold]
            booster = train(kept)
            booster.save_model(str(path))
            fusion, learned = reranked_ndcg(Ranker.load(path), held, judged)
            print(
                f"fold {fold}: nDCG@10 of candidates, fusion {fusion:.4f} -> ranker {learned:.4f}"
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="keep the stores and indexes here (reused)")
    parser.add_argument("--out", type=Path, default=MODEL_FILE, help="model file to write")
    parser.add_argument("--model", default="all-minilm-l6-v2")
    parser.add_argument("--cv", action="store_true", help="report 5-fold cross-validation")
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI")
    args = parser.parse_args(argv)
    if not SCIFACT.exists() or not ARXIV_SOURCE.exists():
        sys.exit("the SciFact and arXiv data sets are not in ../shared/data")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = args.home or Path(scratch_dir)
        scratch.mkdir(parents=True, exist_ok=True)
        embedder = CachedEmbedder(load_embedder(args.model))
        scifact_train, _, scifact_corpus = scifact_sets(args.smoke, scratch)
        arxiv, arxiv_corpus = arxiv_set(args.smoke, scratch)
        dev = arxiv.only([q for q, split in arxiv.split.items() if split == "dev"])
        # Queries encoded by PyTorch, as when the shipped model was trained (so that the same
        # stores give the same file); the site's int8 query vectors score the same (BENCHMARKS).
        scifact = prepare(scratch / "scifact", scifact_corpus, embedder, "generic")
        papers = prepare(scratch / "arxiv", arxiv_corpus, embedder, "auto")
        for searcher in (scifact, papers):
            searcher.ranker = None  # features are the same either way; be explicit
        groups = groups_for(scifact, scifact_train, 1.0) + groups_for(papers, dev, ARXIV_WEIGHT)
        judged = QuerySet(
            {**scifact_train.queries, **dev.queries}, {**scifact_train.qrels, **dev.qrels}
        )
        print(f"{len(groups)} training queries, {sum(len(g.paper_ids) for g in groups)} rows")
        if args.cv:
            cross_validate(groups, judged)
        booster = train(groups, rounds=20 if args.smoke else ROUNDS)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        booster.save_model(str(args.out))
        fusion, learned = reranked_ndcg(Ranker.load(args.out), groups, judged)
    print(f"training queries: nDCG@10 fusion {fusion:.4f} -> ranker {learned:.4f}")
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({size:,} bytes) in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
