"""The web benchmark still runs (a real server and wrk, 2,000 papers, 2-second runs); its
figures live in BENCHMARKS.md."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.conftest import PROJECT_ROOT


@pytest.mark.slow
def test_web_benchmark_smoke_run(tmp_path: Path, shared_data: Path) -> None:
    del shared_data  # only needed for its skip when ../shared is absent
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (apt-get install wrk)")
    out = tmp_path / "web.json"
    command = [sys.executable, "-m", "bench.web", "--smoke", "--json-out", str(out)]
    done = subprocess.run(
        command, cwd=PROJECT_ROOT, capture_output=True, timeout=300, check=False, text=True
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    result = orjson.loads(out.read_bytes())
    assert result["data"]["papers"] == 2000 and result["data"]["vectors"] == 2000
    # Every paper got a simulated weekday list day, so each daily page lists papers.
    assert result["simulation"]["papers"] == 2000 and result["simulation"]["days"] == 337
    rows = result["results"]["off"]
    assert set(rows) == {"daily", "paper", "search", "search_json", "keyword", "static", "mix"}
    for name, row in rows.items():
        assert row["requests"] > 0 and row["requests_per_s"] > 0, name
        assert row["errors"] == 0 and row["non_2xx"] == 0, (name, row)
        assert row["server_cpu_ms_per_request"] > 0, name
        assert len(row["worker_rss_mb"]) == 1 and row["worker_rss_mb"][0] > 0, name
    assert rows["daily"]["checked"]["with_results"] == rows["daily"]["checked"]["checked"] > 0
    assert rows["search"]["checked"]["with_results"] > 0
    assert rows["search_json"]["checked"]["with_results"] > 0
