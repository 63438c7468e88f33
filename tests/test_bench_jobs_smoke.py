"""The task-system benchmark still runs: a do-nothing task through the claim-and-record path,
and a node with an empty HOME building both indexes from a database of 2,000 papers with
their vectors. Its full-size figures live in BENCHMARKS.md."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.conftest import PROJECT_ROOT


@pytest.mark.slow
def test_jobs_benchmark_smoke_run(shared_data: Path) -> None:
    del shared_data  # only needed for its skip when ../shared is absent
    done = subprocess.run(
        [sys.executable, "-m", "bench.jobs", "--smoke"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        timeout=600,
        check=False,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = orjson.loads(done.stdout)
    overhead = result["overhead"]["sqlite"]
    assert overhead["tasks"] == 20 and 0 < overhead["median_ms"] <= overhead["p99_ms"]
    join = result["join"]
    # Every stored paper is keyword-indexed and has its vector in the node's own index.
    assert join["papers"] == 2000 and join["vectors"] == 2000
    assert join["join_median_s"] > 0 and join["peak_rss_mb"] > 50
