"""The memory soak still runs (a real server and wrk, 2,000 papers, 20 s) and prints a table
of each worker's memory over time with its verdict; its 10-minute figures live in
BENCHMARKS.md."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.conftest import PROJECT_ROOT


@pytest.mark.slow
def test_soak_smoke_run(tmp_path: Path, shared_data: Path) -> None:
    del shared_data  # only needed for its skip when ../shared is absent
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (apt-get install wrk)")
    out = tmp_path / "soak.json"
    command = [sys.executable, "-m", "bench.soak", "--smoke", "--reuse", "--json-out", str(out)]
    done = subprocess.run(
        command, cwd=PROJECT_ROOT, capture_output=True, timeout=300, check=False, text=True
    )
    result = orjson.loads(out.read_bytes())
    assert result["papers"] == 2000 and result["wrk"]["requests"] > 0
    assert result["wrk"]["errors"] == 0, result["wrk"]
    # A sample every 2 s for 20 s, each with the one worker's memory.
    samples = result["samples"]
    assert len(samples) >= 8 and samples[-1]["t_s"] >= 19
    assert all(len(s["workers"]) == 1 and s["workers"][0]["rss_mb"] > 0 for s in samples)
    verdict = result["flatness"]
    assert verdict["from_t_s"] >= 6 and len(verdict["workers"]) == 1
    # The exit status and the printed table tell the same verdict.
    assert done.returncode == (0 if verdict["flat"] else 1), done.stderr[-2000:]
    assert "| t s | worker 1 RSS MB | worker 1 anon MB | load |" in done.stdout
    assert ("memory flat" if verdict["flat"] else "memory NOT FLAT") in done.stdout
