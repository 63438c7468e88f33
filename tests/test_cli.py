"""The command line: summaries, JSON output, exit codes; runs as a real process where what a
user sees on a terminal matters (tracebacks, start-up)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from dailypapers.cli import main
from dailypapers.config import load_settings
from dailypapers.index.build import build_indexes
from dailypapers.index.embeddings import Embedder
from dailypapers.store.accounts import (
    create_session,
    create_user,
    get_credentials,
    get_session_user,
)
from dailypapers.store.engine import open_store
from dailypapers.store.migrate import schema_status
from tests.conftest import PROJECT_ROOT
from tests.replay_server import closed_port_url
from tests.search.conftest import import_files

FAR = datetime(2100, 1, 1, tzinfo=UTC)


def run(home: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--home", str(home), *args], env=env or {})
    return result.exit_code, result.stdout, result.stderr


def run_process(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m dailypapers ARGS` with no DAILYPAPERS_ variables but those in `env`."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")}
    return subprocess.run(
        [sys.executable, "-m", "dailypapers", *args],
        env={**inherited, **env},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


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
    assert run(tmp_path, "db", "migrate")[0] == 0
    code, _, err = run(tmp_path, "papers", "show", "2101.99999")
    assert code == 5 and "no paper" in err
    code, _, err = run(tmp_path, "import", "x.json", "--format", "word")
    assert code == 2 and "word" in err


def test_db_migrate_and_status(tmp_path: Path) -> None:
    code, out, _ = run(tmp_path, "db", "migrate")
    _, head = schema_status(open_store(load_settings({}, home=tmp_path)))
    assert code == 0 and out == f"schema at revision {head}\n"
    code, out, _ = run(tmp_path, "db", "status")
    assert code == 0 and "up to date" in out


@pytest.mark.parametrize(
    "command",
    [
        ("papers", "list"),
        ("papers", "show", "2104.12255"),
        ("search", "transformers"),
        ("similar", "2104.12255"),
        ("index", "status"),
        ("db", "status"),
        ("digest", "status"),
        ("digest", "run", "--dry-run"),
        ("users", "admin", "alice"),
        ("users", "disable", "alice"),
        ("users", "list"),
    ],
)
def test_read_only_commands_on_a_home_without_a_database_say_so(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    home = tmp_path / "nonexistent" / "x" / "y"
    code, out, err = run(home, *command)
    assert code == 3, err
    assert err.startswith(f"error: no database at {home.resolve()}/dailypapers.sqlite3 (run ")
    assert "db migrate" in err and out == ""
    assert not (tmp_path / "nonexistent").exists()  # nothing was made


def test_users_are_disabled_enabled_and_listed(tmp_path: Path) -> None:
    engine = open_store(load_settings({}, home=tmp_path))
    then = datetime(2026, 12, 1, tzinfo=UTC)
    alice = create_user(engine, username="Alice", password_hash="h", email="a@x.org", now=then)
    create_user(engine, username="bob", password_hash="h", email=None, now=then, is_admin=True)
    create_session(engine, user_id=alice.user_id, token_hash="s", now=then, expires_at=FAR)
    code, _, err = run(tmp_path, "users", "disable", "alice")
    assert (code, err) == (0, "Alice is now disabled: logged out everywhere, cannot log in\n")
    creds = get_credentials(engine, username="alice")
    assert creds is not None and creds.disabled
    assert get_session_user(engine, token_hash="s", now=then) is None
    assert run(tmp_path, "users", "disable", "ALICE")[1:] == ("", "Alice is already disabled\n")
    code, out, err = run(tmp_path, "users", "list")
    assert code == 0 and err == "2 accounts\n"
    assert out.splitlines()[0].startswith(
        "Alice  a@x.org  created 2026-12-01  last login 2026-12-01  disabled 20"
    )
    assert out.splitlines()[1] == "bob  -  created 2026-12-01  admin"
    code, out, _ = run(tmp_path, "users", "list", "--json")
    listed = orjson.loads(out)
    assert [(u["username"], u["is_admin"]) for u in listed] == [("Alice", False), ("bob", True)]
    assert listed[0]["disabled_at"] is not None and listed[1]["disabled_at"] is None
    assert run(tmp_path, "users", "enable", "alice") == (0, "", "Alice is enabled again\n")
    creds = get_credentials(engine, username="alice")
    assert creds is not None and not creds.disabled
    code, out, err = run(tmp_path, "users", "enable", "carol")
    assert (code, out, err) == (5, "", "error: no user named 'carol'\n")
    engine.dispose()


def test_writing_commands_still_create_the_home(tmp_path: Path) -> None:
    home = tmp_path / "new" / "home"
    assert run(home, "db", "migrate")[0] == 0
    assert (home / "dailypapers.sqlite3").is_file()
    code, _, err = run(home, "papers", "list")
    assert code == 0 and "0 papers stored" in err


def test_a_bad_setting_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    done = run_process("--home", str(tmp_path), "papers", "list", DAILYPAPERS_FOR_YOU_DAYS="400")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: DAILYPAPERS_FOR_YOU_DAYS='400': must be a whole number from 1 to 365"
    ]
    assert not tmp_path.joinpath("dailypapers.sqlite3").exists()
    env = {"DAILYPAPERS_SMTP_SECURITY": "ssl", "DAILYPAPERS_HTTP_TIMEOUT_S": "soon"}
    code, _, err = run(tmp_path, "db", "migrate", env=env)
    assert code == 2
    assert sorted(err.splitlines()) == [
        "error: DAILYPAPERS_HTTP_TIMEOUT_S='soon': must be a number, greater than 0",
        "error: DAILYPAPERS_SMTP_SECURITY='ssl': must be one of starttls, tls, none",
    ]
    # Help does not need the settings.
    code, out, _ = run(tmp_path, "papers", "list", "--help", env=env)
    assert code == 0 and "--limit" in out


def _postgres_url(port: int) -> str:
    return f"postgresql+psycopg://papers:s3cret@127.0.0.1:{port}/papers"


@pytest.mark.parametrize("command", [("papers", "list"), ("db", "migrate")])
def test_an_unreachable_database_is_one_line_naming_it(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    port = int(closed_port_url().rsplit(":", 1)[1])
    done = run_process(
        "--home", str(tmp_path), *command, DAILYPAPERS_DATABASE_URL=_postgres_url(port)
    )
    assert done.returncode == 3
    [line] = done.stderr.splitlines()
    assert line.startswith(f"error: cannot connect to the database at 127.0.0.1:{port}/papers: ")
    assert "Connection refused" in line and "s3cret" not in line


def test_a_database_host_that_never_answers_fails_within_the_connect_timeout(
    tmp_path: Path,
) -> None:
    # The kernel completes the handshake for a listening socket nobody accepts from: the
    # driver then waits for the server's first reply, which never comes.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        started = time.monotonic()
        done = run_process(
            "--home", str(tmp_path), "papers", "list",
            DAILYPAPERS_DATABASE_URL=_postgres_url(port),
            DAILYPAPERS_DATABASE_CONNECT_TIMEOUT_S="2",
        )  # fmt: skip
        elapsed = time.monotonic() - started
    assert done.returncode == 3 and elapsed < 30, (elapsed, done.stderr)
    [line] = done.stderr.splitlines()
    assert line.startswith(f"error: cannot connect to the database at 127.0.0.1:{port}/papers: ")


KEYWORD_COMMANDS = """
import sys
from click.testing import CliRunner
from dailypapers.cli import main
home, sample = sys.argv[1:]
for args in (["import", sample], ["papers", "show", "2410.17243"],
             ["search", "attention", "--mode", "keyword"]):
    result = CliRunner().invoke(main, ["--home", home, *args])
    assert result.exit_code == 0, (args, result.output)
print(sorted(name for name in ("onnxruntime", "usearch", "torch") if name in sys.modules))
"""


def test_keyword_commands_load_no_vector_libraries(tmp_path: Path, shared_data: Path) -> None:
    sample = shared_data / "hf-daily-papers" / "daily_papers-2024-10-25.first4.json"
    done = subprocess.run(
        [sys.executable, "-c", KEYWORD_COMMANDS, str(tmp_path), str(sample)],
        env={k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"


def test_serve_refuses_bad_settings_before_starting(tmp_path: Path) -> None:
    done = run_process("--home", str(tmp_path), "serve", DAILYPAPERS_SESSION_DAYS="0")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: DAILYPAPERS_SESSION_DAYS='0': must be a whole number from 1 to 365"
    ]


def test_looking_ids_up_while_arxiv_is_unreachable_fails_in_seconds(tmp_path: Path) -> None:
    env = {"DAILYPAPERS_ARXIV_API_URL": closed_port_url() + "/api/query"}
    started = time.monotonic()
    code, _, err = run(tmp_path, "harvest", "arxiv", "--ids", "2104.12255", env=env)
    elapsed_s = time.monotonic() - started
    assert code == 4
    assert err.splitlines()[-1] == "error: arXiv could not be reached; try again later"
    assert "retry" not in err  # a refused connection is not tried six times
    assert elapsed_s < 5


def _generic_papers(path: Path, first: int, count: int, title: str = "Paper") -> Path:
    lines = [
        orjson.dumps(
            {
                "id": f"2501.{number:05d}",
                "title": f"{title} {number} on sparse attention for long documents",
                "abstract": f"We study variant {number} of sparse attention.",
                "published": "2025-01-15",
            }
        ).decode()
        for number in range(first, first + count)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_index_status_counts_every_paper_without_a_vector(tmp_path: Path, minilm: Embedder) -> None:
    home = tmp_path / "home"
    papers = _generic_papers(tmp_path / "papers.jsonl", 1, 40)
    assert run(home, "import", str(papers), "--format", "generic")[0] == 0
    # A build stopped after its first batch (as `index watch` is by SIGTERM).
    settings = load_settings({}, home=home, embedding_batch_papers=16)
    engine = open_store(settings)
    batches = iter(range(100))
    build_indexes(engine, settings, embedder=minilm, should_stop=lambda: next(batches) > 0)
    code, out, _ = run(home, "index", "status", "--json")
    assert code == 0
    status = orjson.loads(out)
    assert 0 < status["embedded"] < status["papers"] == 40
    assert status["changed_since_embedding"] == 40 - status["embedded"]
    # A paper whose text changed after it was embedded counts too.
    retitled = _generic_papers(tmp_path / "retitled.jsonl", 1, 1, title="Retitled paper")
    import_files(engine, [retitled], "generic")
    engine.dispose()
    status = orjson.loads(run(home, "index", "status", "--json")[1])
    assert status["changed_since_embedding"] == 40 - status["embedded"] + 1
    code, out, _ = run(home, "index", "status")
    assert f"waiting for a vector:  {40 - status['embedded'] + 1}" in out


def test_installed_command_runs_as_a_process(tmp_path: Path, seeds_dir: Path) -> None:
    env = {"DAILYPAPERS_HOME": str(tmp_path)}
    done = run_process("import", str(seeds_dir), "--json", **env)
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout)["imported"] > 300
    listing = run_process("papers", "list", "--limit", "3", **env)
    assert listing.returncode == 0, listing.stderr
    assert len(listing.stdout.strip().splitlines()) == 6
