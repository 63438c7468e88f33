"""The library import benchmark still runs end to end on a small sample (figures:
BENCHMARKS.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.conftest import PROJECT_ROOT


@pytest.mark.slow
def test_library_import_benchmark_quick_run(tmp_path: Path, shared_data: Path) -> None:
    del shared_data  # only needed for its skip when ../shared is absent
    out = tmp_path / "library.json"
    command = [sys.executable, "-m", "bench.library_import", "--quick", "--json", str(out)]
    done = subprocess.run(
        command, cwd=PROJECT_ROOT, capture_output=True, timeout=240, check=False, text=True
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "goal < 10 s: met" in done.stdout
    (run,) = orjson.loads(out.read_bytes())["runs"]
    assert run["entries"] == 500 and run["again_added"] == 0
    assert run["counts"]["failed"] == run["forms"]["broken"]
