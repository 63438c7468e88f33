"""The "For you" benchmark still runs end to end on a tiny sample (figures: BENCHMARKS.md)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.conftest import PROJECT_ROOT


@pytest.mark.slow
def test_recommend_benchmark_quick_run(tmp_path: Path, shared_data: Path) -> None:
    del shared_data  # only needed for its skip when ../shared is absent
    out = tmp_path / "recommend.json"
    command = [sys.executable, "-m", "bench.recommend", "--quick", "--json", str(out)]
    done = subprocess.run(
        command, cwd=PROJECT_ROOT, capture_output=True, timeout=240, check=False, text=True
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    for method in ("For you", r"recency \(newest 10\)", r"popularity \(votes\)"):
        assert re.search(rf"^{method} +\d\.\d{{3}} ±\d\.\d{{3}}$", done.stdout, re.M), method
    precision = orjson.loads(out.read_bytes())["summary"]["precision_at_10"]
    assert {"For you", "recency", "popularity", "random"} <= set(precision)
    assert all(0.0 <= value <= 1.0 for row in precision.values() for value in row.values())
