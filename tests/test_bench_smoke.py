"""The import benchmark still runs (on 2,000 papers); its figures live in BENCHMARKS.md."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from dailypapers.search.features import FEATURE_NAMES
from dailypapers.search.ranker import Ranker
from tests.conftest import PROJECT_ROOT
from tests.pg_server import find_pg_bindir


@pytest.mark.slow
def test_import_benchmark_smoke_run(tmp_path: Path, shared_data: Path) -> None:
    del shared_data  # only needed for its skip when ../shared is absent
    out = tmp_path / "smoke.json"
    command = [sys.executable, "-m", "bench.import_speed", "--smoke", "--json-out", str(out)]
    done = subprocess.run(
        command, cwd=PROJECT_ROOT, capture_output=True, timeout=240, check=False, text=True
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    rows = orjson.loads(out.read_bytes())["summary"]
    databases = {row["database"] for row in rows}
    assert "sqlite" in databases
    if find_pg_bindir() is not None:
        assert "postgres" in databases
    assert all(row["papers_per_s_median"] > 0 for row in rows)


def _run_smoke(module: str, out: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", module, "--smoke", "--json-out", str(out)]
    done = subprocess.run(
        command, cwd=PROJECT_ROOT, capture_output=True, timeout=600, check=False, text=True
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    result: dict[str, Any] = orjson.loads(out.read_bytes())
    return result


@pytest.mark.slow
@pytest.mark.timeout(900)  # its subprocess may take up to 600 s on a busy machine
def test_quality_benchmark_smoke_run(tmp_path: Path, shared_data: Path) -> None:
    del shared_data
    result = _run_smoke("bench.quality", tmp_path / "quality.json")
    scores = result["scifact_test"]
    systems = {"keyword before", "keyword", "hybrid before", "hybrid fusion", "rrf"}
    if result["ranker"] is not None:  # "hybrid" is the hybrid with the shipped ranker
        systems.add("hybrid")
    assert systems <= set(scores)
    assert all(0.0 < mode["ndcg10"] <= 1.0 for mode in scores.values())
    # The smoke run's few arXiv papers may leave a split without judged queries: its table
    # then has every system and no style figures, instead of a crash.
    assert systems - {"hybrid"} <= set(result["arxiv_heldout"])


@pytest.mark.slow
@pytest.mark.timeout(900)  # its subprocess may take up to 600 s on a busy machine
def test_ranker_training_smoke_run(tmp_path: Path, shared_data: Path) -> None:
    del shared_data
    out = tmp_path / "ranker_model.txt"
    command = [sys.executable, "-m", "bench.train_ranker", "--smoke", "--out", str(out)]
    done = subprocess.run(
        command, cwd=PROJECT_ROOT, capture_output=True, timeout=600, check=False, text=True
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert Ranker.load(out).feature_names == FEATURE_NAMES


@pytest.mark.slow
def test_scale_benchmark_smoke_run(tmp_path: Path, shared_data: Path) -> None:
    del shared_data
    result = _run_smoke("bench.scale", tmp_path / "scale.json")
    assert result["papers"] == 2000 and result["index"]["vectors"] == 2000
    assert all(result["latency"][mode]["queries"] == 60 for mode in result["latency"])
