"""The learned ranker: our numpy evaluation of a LightGBM model ranks as LightGBM does, a
model trained on a real query reorders that query's hybrid results, and searches fall back
to the fusion when the ranker is off or no model file ships."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from dailypapers.config import load_settings
from dailypapers.search.features import FEATURE_NAMES
from dailypapers.search.keyword import DENSE_POSTINGS
from dailypapers.search.ranker import Ranker, RankerModelError, shipped_ranker
from dailypapers.search.service import Searcher
from tests.search.conftest import Corpus, SciFactSample

LAMBDARANK = {
    "objective": "lambdarank",
    "num_leaves": 7,
    "min_data_in_leaf": 1,
    "learning_rate": 0.3,
    "num_threads": 1,
    "deterministic": True,
    "seed": 1,
    "verbose": -1,
}


# LightGBM runs in a process of its own: loaded after usearch (which the test session has
# already imported), it cannot name features ("Feature (Column_) appears more than one time").
LIGHTGBM = """
import sys
import lightgbm, numpy as np
data = np.load(sys.argv[1])
model, params, names = sys.argv[2], eval(sys.argv[3]), sys.argv[4].split(",")
if "labels" in data:
    train = lightgbm.Dataset(data["rows"], label=data["labels"], group=data["groups"],
                             feature_name=names)
    lightgbm.train(params, train, num_boost_round=30).save_model(model)
else:
    np.save(sys.argv[5], lightgbm.Booster(model_file=model).predict(data["rows"]))
"""


def _lightgbm(
    path: Path, *extra: str, params: dict[str, object] = LAMBDARANK, **arrays: np.ndarray
) -> None:
    data = path.with_suffix(".npz")
    np.savez(data, **arrays)  # type: ignore[arg-type]
    subprocess.run(
        [sys.executable, "-c", LIGHTGBM, str(data), str(path), repr(params)]
        + [",".join(FEATURE_NAMES), *extra],
        check=True,
        timeout=120,
    )


def _train(
    rows: np.ndarray,
    labels: np.ndarray,
    groups: list[int],
    path: Path,
    params: dict[str, object] = LAMBDARANK,
) -> Path:
    _lightgbm(path, params=params, rows=rows, labels=labels, groups=np.array(groups))
    return path


def _predict(path: Path, rows: np.ndarray) -> np.ndarray:
    out = path.with_name("predicted.npy")
    _lightgbm(path, str(out), rows=rows)
    return np.load(out)


# Trees of up to 16 leaves are evaluated with 16-bit leaf masks, wider ones with 64-bit masks.
@pytest.mark.parametrize("leaves", [7, 40])
def test_scores_match_lightgbm_on_rows_it_never_saw(tmp_path: Path, leaves: int) -> None:
    rng = np.random.default_rng(7)
    rows = rng.normal(size=(600, len(FEATURE_NAMES)))
    rows[rng.random(rows.shape) < 0.1] = 0.0  # exact zeros take LightGBM's zero path
    labels = ((rows[:, 0] + rows[:, 2] * rows[:, 5]) > 0.8).astype(int) + (rows[:, 1] > 1.2)
    params = {**LAMBDARANK, "num_leaves": leaves}
    path = _train(rows, labels, [30] * 20, tmp_path / "model.txt", params)
    model = Ranker.load(path)
    widest = max(len(tree.leaf_value) for tree in model.trees)
    assert (widest <= 16) == (leaves <= 16), widest  # each width is really exercised
    unseen = rng.normal(size=(200, len(FEATURE_NAMES)))
    unseen[:, 3] = 0.0
    expected = _predict(path, unseen)
    np.testing.assert_allclose(model.score(unseen), expected, rtol=0, atol=1e-9)


def test_a_trained_model_reorders_a_real_query(
    corpus: Corpus, scifact_sample: SciFactSample, tmp_path: Path
) -> None:
    searcher = corpus.searcher
    searcher.ranker = None
    text = next(iter(scifact_sample.queries.values()))
    fused = [hit.paper_id for hit in searcher.search(text, mode="hybrid", limit=10).hits]
    paper_ids, rows = searcher.ranking_features(text)
    assert paper_ids[:10] == fused  # the features describe the candidates in fusion order
    target = fused[5]
    labels = np.array([2 if paper == target else 0 for paper in paper_ids])
    ranker = Ranker.load(_train(rows, labels, [len(rows)], tmp_path / "model.txt"))
    try:
        searcher.ranker = ranker
        reranked = [hit.paper_id for hit in searcher.search(text, mode="hybrid", limit=10).hits]
        assert reranked[0] == target
        assert set(reranked) <= set(paper_ids)
        # The ranker orders hybrid results only: keyword and semantic modes stay as they were.
        keyword = searcher.search(text, mode="keyword", limit=10).hits
        searcher.ranker = None
        assert [h.paper_id for h in searcher.search(text, mode="keyword", limit=10).hits] == [
            h.paper_id for h in keyword
        ]
        assert [h.paper_id for h in searcher.search(text, mode="hybrid", limit=10).hits] == fused
    finally:
        searcher.ranker = None


def test_the_evidence_is_the_same_whether_clauses_share_a_search_or_each_has_its_own(
    corpus: Corpus, scifact_sample: SciFactSample
) -> None:
    """Clauses matching many papers are searched on their own (KeywordSearcher._matched): at
    this size none does, so the threshold is lowered to send some or all of them that way."""
    keyword = corpus.searcher.keyword_index()
    texts = list(scifact_sample.queries.values())[:3]
    texts.append("protein folding with deep neural networks")
    try:
        for text in texts:
            keyword.dense_postings = DENSE_POSTINGS
            paper_ids, shared = corpus.searcher.ranking_features(text)
            assert shared[:, FEATURE_NAMES.index("coverage")].any()  # some words were matched
            for threshold in (0, 5, 20):
                keyword.dense_postings = threshold
                again_ids, rows = corpus.searcher.ranking_features(text)
                assert again_ids == paper_ids
                np.testing.assert_array_equal(rows, shared)
    finally:
        keyword.dense_postings = DENSE_POSTINGS


def test_the_setting_turns_the_shipped_ranker_off(corpus: Corpus) -> None:
    off = load_settings({"DAILYPAPERS_SEARCH_RANKER": "false"}, home=corpus.settings.home)
    assert Searcher(corpus.engine, off).ranker is None
    on = load_settings({}, home=corpus.settings.home)
    assert Searcher(corpus.engine, on).ranker is shipped_ranker()


def test_a_missing_model_file_means_no_ranker(tmp_path: Path) -> None:
    assert shipped_ranker(tmp_path / "ranker_model.txt") is None
    with pytest.raises(RankerModelError, match="ranker_model.txt: cannot read"):
        Ranker.load(tmp_path / "ranker_model.txt")


def test_the_shipped_model_loads_and_ranks_our_features() -> None:
    ranker = shipped_ranker()
    assert ranker is not None, "src/dailypapers/search/ranker_model.txt must ship"
    assert ranker.feature_names == FEATURE_NAMES
    assert ranker.score(np.zeros((3, len(FEATURE_NAMES)))).shape == (3,)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda text: text.replace("version=v4", "version=v3"), ":1: not a LightGBM v4"),
        (lambda text: text.replace("num_cat=0", "num_cat=1", 1), ":\\d+: categorical or linear"),
        (lambda text: text.replace("left_child=", "left_kid=", 1), ":\\d+: the tree has no"),
    ],
)
def test_a_model_file_we_cannot_evaluate_is_refused_naming_the_line(
    tmp_path: Path, change: Callable[[str], str], message: str
) -> None:
    rng = np.random.default_rng(3)
    rows = rng.normal(size=(120, len(FEATURE_NAMES)))
    path = _train(rows, (rows[:, 0] > 0).astype(int), [20] * 6, tmp_path / "model.txt")
    path.write_text(change(path.read_text()))
    with pytest.raises(RankerModelError, match=f"model.txt{message}"):
        Ranker.load(path)
