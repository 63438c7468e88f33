"""The query encoder on ONNX Runtime: PyTorch's vectors and search results, without torch."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from dailypapers.config import Settings, load_settings
from dailypapers.index import onnx_encoder
from dailypapers.index.build import build_indexes
from dailypapers.index.embeddings import Embedder, SentenceTransformerEmbedder, document_text
from dailypapers.index.onnx_encoder import (
    MIN_QUANTIZED_AGREEMENT,
    OnnxQueryEncoder,
    encoder_source,
    load_query_encoder,
)
from dailypapers.search.service import Searcher
from dailypapers.store.engine import open_store
from dailypapers.web.app import create_app
from tests.search.conftest import import_files
from tests.web.conftest import site_settings

MODEL = "all-minilm-l6-v2"
QUERIES = 12
OTHER_ABSTRACTS = 60
# Measured 2026-12-05: at most 1.8e-7 apart in any coordinate, cosine >= 0.9999995.
ATOL = 1e-5
MIN_COSINE = 0.99999


@dataclass
class Site:
    settings: Settings
    engine: sa.Engine
    queries: list[str]
    abstracts: list[str]
    onnx: OnnxQueryEncoder  # float32
    int8: OnnxQueryEncoder  # the default
    relevant: list[set[str]]  # each query's relevant abstracts (SciFact's judgements)


@pytest.fixture(scope="module")
def site(
    shared_data: Path, minilm: Embedder, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """SciFact abstracts (those relevant to the first test queries, and others) embedded by
    PyTorch, and the query encoder exported into the site's HOME."""
    root = shared_data / "scifact"
    qrels = [line.split("\t") for line in (root / "qrels" / "test.tsv").read_text().splitlines()]
    wanted_queries: list[str] = list(dict.fromkeys(row[0] for row in qrels[1:]))[:QUERIES]
    relevant = {row[1] for row in qrels[1:] if row[0] in wanted_queries}
    queries = {
        row["_id"]: row["text"]
        for row in map(orjson.loads, (root / "queries.jsonl").read_bytes().splitlines())
    }
    lines = (root / "corpus.jsonl").read_bytes().splitlines()
    keep = [line for line in lines if orjson.loads(line)["_id"] in relevant]
    keep = list(dict.fromkeys(keep + lines[:OTHER_ABSTRACTS]))
    home = tmp_path_factory.mktemp("onnx") / "home"
    corpus = home.parent / "corpus.jsonl"
    corpus.write_bytes(b"\n".join(keep) + b"\n")
    settings = load_settings({}, home=home)
    engine = open_store(settings)
    import_files(engine, [corpus], "generic")
    build_indexes(engine, settings, embedder=minilm)
    onnx = load_query_encoder(MODEL, home=home, precision="float32")
    int8 = load_query_encoder(MODEL, home=home)
    assert isinstance(onnx, OnnxQueryEncoder) and isinstance(int8, OnnxQueryEncoder)
    records = [orjson.loads(line) for line in keep]
    abstracts = [document_text(record["title"], record["text"]) for record in records]
    relevant = [{row[1] for row in qrels[1:] if row[0] == q} for q in wanted_queries]
    yield Site(
        settings, engine, [queries[q] for q in wanted_queries], abstracts, onnx, int8, relevant
    )
    engine.dispose()


def test_onnx_vectors_agree_with_pytorch_on_real_abstracts_and_queries(
    site: Site, minilm: Embedder
) -> None:
    # Abstracts longer than 256 word pieces are truncated the same way; batches are padded.
    for texts in (site.abstracts, site.queries):
        expected = minilm.encode(texts)
        for got in (site.onnx.encode(texts), np.vstack([site.onnx.encode([t]) for t in texts])):
            assert got.shape == expected.shape == (len(texts), 384)
            assert float(np.sum(got * expected, axis=1).min()) >= MIN_COSINE
            np.testing.assert_allclose(got, expected, atol=ATOL)
    assert site.onnx.name == minilm.name  # the same vectors: searched against the same index


def test_hybrid_results_are_the_same_with_either_encoder(site: Site, minilm: Embedder) -> None:
    by_pytorch = Searcher(site.engine, site.settings, embedder=minilm)
    float32 = load_settings({}, home=site.settings.home, query_encoder_precision="float32")
    by_onnx = Searcher(site.engine, float32)
    assert isinstance(by_onnx.embedder(), OnnxQueryEncoder)
    assert by_onnx.embedder().path == site.onnx.path  # type: ignore[attr-defined]
    for query in site.queries:
        expected = by_pytorch.search(query, mode="hybrid", limit=20).hits
        got = by_onnx.search(query, mode="hybrid", limit=20).hits
        assert [hit.paper.paper_id for hit in got] == [hit.paper.paper_id for hit in expected]
        np.testing.assert_allclose(
            [hit.score for hit in got], [hit.score for hit in expected], atol=1e-4
        )


def test_the_int8_encoder_is_the_default_and_stays_close_to_pytorch(
    site: Site, minilm: Embedder
) -> None:
    default = Searcher(site.engine, site.settings).embedder()
    assert isinstance(default, OnnxQueryEncoder) and default.path == site.int8.path
    assert default.name == minilm.name  # searched against the same index
    for texts in (site.abstracts, site.queries):
        expected = minilm.encode(texts)
        got = np.vstack([site.int8.encode([t]) for t in texts])
        agreement = np.sum(got * expected, axis=1)
        assert float(agreement.min()) >= MIN_QUANTIZED_AGREEMENT
        assert float(agreement.mean()) >= 0.99
    # A quarter of the weights' bytes: what a query of a few word pieces waits for.
    assert site.int8.path.stat().st_size < site.onnx.path.stat().st_size / 3


def test_int8_queries_find_what_pytorch_queries_find(site: Site, minilm: Embedder) -> None:
    """Not the same order (the vectors differ in the third decimal), but for every query the
    same best paper, and every relevant abstract that PyTorch's query vector puts in the top
    10; and most of the top 10 (measured on this machine: semantic 9 or 10 of 10 for each
    query, mean 9.5; hybrid 7 to 10, mean 9.25, as the learned ranker reorders near ties among
    the last places). The bounds leave a place of margin for processors whose integer
    arithmetic rounds differently."""
    by_pytorch = Searcher(site.engine, site.settings, embedder=minilm)
    by_int8 = Searcher(site.engine, site.settings, embedder=site.int8)
    for mode, least in (("semantic", 8), ("hybrid", 6)):
        shared = []
        for query, relevant in zip(site.queries, site.relevant, strict=True):
            expected = [h.paper.paper_id for h in by_pytorch.search(query, mode=mode).hits]
            got = [h.paper.paper_id for h in by_int8.search(query, mode=mode).hits]
            assert len(got) == len(expected) == 10
            assert got[0] == expected[0]
            assert relevant & set(expected) <= set(got)
            shared.append(len(set(got) & set(expected)))
        assert min(shared) >= least and sum(shared) >= 8.5 * len(shared), (mode, shared)


def test_the_onnx_files_are_cached_under_home_and_reused(site: Site) -> None:
    models = site.settings.home / "models"
    made = sorted(models.glob("*.onnx"))
    assert made == sorted([site.onnx.path, site.int8.path])
    assert re.fullmatch(r"all-minilm-l6-v2-[0-9a-f]{12}\.onnx", site.onnx.path.name)
    assert site.int8.path.name == site.onnx.path.name.replace(".onnx", "-int8.onnx")
    assert not list(models.glob("*.partial")) and not list(models.glob("*.refused"))
    stamps = [path.stat().st_mtime_ns for path in made]
    for precision in ("int8", "float32"):
        again = load_query_encoder(MODEL, home=site.settings.home, precision=precision)  # type: ignore[arg-type]
        assert isinstance(again, OnnxQueryEncoder)
        assert again.path == (site.int8 if precision == "int8" else site.onnx).path
    assert [path.stat().st_mtime_ns for path in made] == stamps  # loaded, not made again


def test_an_int8_copy_refused_by_its_check_leaves_queries_on_float32(
    site: Site, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The check itself: a copy further from the float32 export than allowed is refused.
    source = encoder_source(MODEL)
    assert source is not None
    monkeypatch.setattr(onnx_encoder, "MIN_QUANTIZED_AGREEMENT", 1.01)
    with pytest.raises(SystemExit) as refused:
        onnx_encoder._helper_main(
            ["quantize", str(source.folder), source.name, str(site.onnx.path), str(tmp_path / "q")]
        )
    assert refused.value.code == onnx_encoder._DISAGREES
    monkeypatch.undo()
    # A home whose copy was refused (as the helper's exit status records it) runs queries on
    # the float32 export, says so once, and does not try again.
    home = tmp_path / "home"
    (home / "models").mkdir(parents=True)
    os.link(site.onnx.path, home / "models" / site.onnx.path.name)
    int8 = source.cache_path(home, "int8")
    int8.with_suffix(".refused").write_text("cannot quantize it: cosine 0.5\n", "utf-8")
    with caplog.at_level(logging.INFO, logger="dailypapers.index.onnx_encoder"):
        encoder = load_query_encoder(MODEL, home=home)
    assert isinstance(encoder, OnnxQueryEncoder)
    assert encoder.path == home / "models" / site.onnx.path.name
    assert not int8.exists()
    assert [record.getMessage() for record in caplog.records] == [
        "search queries run on the float32 export: cannot quantize it: cosine 0.5"
    ]


def _imports_of_a_search(home: Path, *args: str) -> tuple[str, list[str]]:
    """Run `dailypapers search` as a user does; its output and the modules it imported."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "dailypapers", "--home", str(home)]
        + ["search", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    modules = re.findall(r"^import time:[^|]*\|[^|]*\|\s*(\S+)$", done.stderr, re.MULTILINE)
    return done.stdout, modules


def test_a_search_from_the_command_line_does_not_import_torch(site: Site) -> None:
    query = "vitamin D deficiency and tuberculosis"
    for mode in ("keyword", "hybrid"):
        output, modules = _imports_of_a_search(site.settings.home, query, "--mode", mode)
        assert output.count("\n") >= 3  # it found papers
        assert "dailypapers.search.service" in modules  # the import log is read right
        assert not [name for name in modules if name.split(".")[0] in ("torch", "transformers")]


def test_without_a_place_to_export_queries_run_on_pytorch_with_one_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "models").write_text("not a folder", encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="dailypapers.index.onnx_encoder"):
        encoder = load_query_encoder(MODEL, home=home)
    assert isinstance(encoder, SentenceTransformerEmbedder)
    assert encoder.name == f"{MODEL}@256"
    assert [record.levelname for record in caplog.records] == ["WARNING"]
    assert "search queries run on PyTorch" in caplog.records[0].getMessage()


def test_a_web_worker_loads_the_query_encoder_before_its_first_search(site: Site) -> None:
    app = create_app(site_settings(site.settings.home))
    searcher = app.state.dp.search
    assert not searcher.query_encoder_loaded
    with TestClient(app, base_url="http://testserver") as client:
        assert searcher.query_encoder_loaded  # at start-up, with no request made
        response = client.get("/api/v1/search", params={"q": site.queries[0]})
        assert response.status_code == 200 and response.json()["hits"]
    app.state.dp.engine.dispose()


def test_a_web_worker_started_before_any_vector_loads_the_encoder_once_vectors_come(
    shared_data: Path, minilm: Embedder, tmp_path: Path
) -> None:
    """A new site's workers start before anything is embedded: the index keeper's thread
    loads the encoder when the first vectors appear, not the first search that needs it."""
    corpus = tmp_path / "corpus.jsonl"
    lines = (shared_data / "scifact" / "corpus.jsonl").read_bytes().splitlines()[:40]
    corpus.write_bytes(b"\n".join(lines) + b"\n")
    # The keeper's own schedule never runs here: the test makes its passes.
    settings = site_settings(tmp_path / "home", search_refresh_s=3600)
    engine = open_store(settings)
    import_files(engine, [corpus], "generic")
    app = create_app(settings)
    searcher = app.state.dp.search
    with TestClient(app, base_url="http://testserver"):
        searcher._keeper.sync_once()  # keyword index only: nothing is embedded yet
        assert not searcher.query_encoder_loaded
        build_indexes(engine, settings, embedder=minilm)
        searcher._keeper.sync_once()
        assert searcher.query_encoder_loaded
    app.state.dp.engine.dispose()
    engine.dispose()
