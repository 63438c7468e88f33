"""The command line: summaries, JSON output, exit codes; one run as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
from click.testing import CliRunner

from dailypapers.cli import main


def run(home: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--home", str(home), *args], env={})
    return result.exit_code, result.stdout, result.stderr


def test_import_json_summary_and_show(tmp_path: Path, shared_data: Path) -> None:
    sample = shared_data / "hf-daily-papers" / "daily_papers-2024-10-25.first4.json"
    code, out, _ = run(tmp_path, "import", str(sample), "--json")
    assert code == 0
    summary = orjson.loads(out)
    assert (summary["imported"], summary["failed"], summary["failures"]) == (4, 0, [])
    code, out, _ = run(tmp_path, "papers", "show", "arXiv:2410.17243v1", "--json")
    assert code == 0
    paper = orjson.loads(out)
    assert paper["paper_id"] == "2410.17243"
    assert paper["sources"] == ["hf-daily"]
    assert paper["daily_date"] == "2024-10-25"
    code, out, _ = run(tmp_path, "import", str(sample), "--json")
    assert orjson.loads(out)["unchanged"] == 4


def test_partial_failure_exit_code_and_named_errors(tmp_path: Path) -> None:
    bad = tmp_path / "papers.jsonl"
    bad.write_text('{"id": "a1", "title": "Fine paper"}\n{"id": "a2", "title": \n')
    code, out, _ = run(tmp_path / "home", "import", str(bad), "--format", "generic", "--json")
    assert code == 1
    summary = orjson.loads(out)
    assert summary["imported"] == 1 and summary["failed"] == 1
    [failure] = summary["failures"]
    assert failure["origin"] == str(bad) and failure["location"].startswith("line 2")


def test_missing_paper_and_unknown_format(tmp_path: Path) -> None:
    code, _, err = run(tmp_path, "papers", "show", "2101.99999")
    assert code == 5 and "no paper" in err
    code, _, err = run(tmp_path, "import", "x.json", "--format", "word")
    assert code == 2 and "word" in err


def test_db_migrate_and_status(tmp_path: Path) -> None:
    code, out, _ = run(tmp_path, "db", "migrate")
    assert code == 0 and "0004" in out
    code, out, _ = run(tmp_path, "db", "status")
    assert code == 0 and "up to date" in out


def test_installed_command_runs_as_a_process(tmp_path: Path, seeds_dir: Path) -> None:
    env = {**os.environ, "DAILYPAPERS_HOME": str(tmp_path)}
    command = [sys.executable, "-m", "dailypapers", "import", str(seeds_dir), "--json"]
    done = subprocess.run(command, env=env, capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()
    assert orjson.loads(done.stdout)["imported"] > 300
    listing = subprocess.run(
        [sys.executable, "-m", "dailypapers", "papers", "list", "--limit", "3"],
        env=env,
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert len(listing.stdout.decode().strip().splitlines()) == 6
