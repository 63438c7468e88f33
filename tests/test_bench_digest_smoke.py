"""The digest benchmark still runs (300 subscribers, one repeat); its figures live in
BENCHMARKS.md."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.conftest import PROJECT_ROOT


@pytest.mark.slow
def test_digest_benchmark_quick_run(tmp_path: Path, shared_data: Path) -> None:
    del shared_data  # only needed for its skip when ../shared is absent
    out = tmp_path / "digest.json"
    command = [sys.executable, "-m", "bench.digest", "--quick", "--json-out", str(out)]
    done = subprocess.run(
        command, cwd=PROJECT_ROOT, capture_output=True, timeout=280, check=False, text=True
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert re.search(r"^date: .+; machine: \d+ CPUs", done.stdout, re.MULTILINE)
    assert re.search(r"^subscribers: 300 active", done.stdout, re.MULTILINE)
    assert re.search(r"^run_digests: median [\d.]+ s", done.stdout, re.MULTILINE)
    assert "checks: all passed" in done.stdout
    result = orjson.loads(out.read_bytes())
    runs = result["runs"]
    assert {run["variant"] for run in runs} == {"run", "phases"}
    for run in runs:
        # Every subscriber asked for something and the window has papers: 300 digests, each
        # received once by the sink, and the rerun right after sends nothing.
        assert run["built"] == run["sent"] == run["received"] == run["sink_total"] == 300
        assert run["rerun_sent"] == 0 and run["sink_repeats"] == 0
        assert run["seconds"] > 0 and run["peak_rss_mb"] > 0
    phases = next(run for run in runs if run["variant"] == "phases")["phase_s"]
    assert phases["build"] > 0 and phases["send"] > 0
