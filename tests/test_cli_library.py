"""`dailypapers library import`: a real bibliography into a user's collection, its report as
text and JSON, exit codes, and a second run that adds nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson

from dailypapers.config import load_settings
from dailypapers.store.accounts import create_user
from dailypapers.store.collections import find_owned_collection
from dailypapers.store.engine import open_store
from tests.test_cli import run

BROKEN_BIB = """@misc{fine, title = {A fine entry}, year = {2020}}
@misc{untitled, author = {Nobody}}
"""


def _user(home: Path, name: str) -> int:
    engine = open_store(load_settings({}, home=home))
    try:
        now = datetime.now(UTC)
        return create_user(engine, username=name, password_hash="x", email=None, now=now).user_id
    finally:
        engine.dispose()


def test_library_import_fills_a_named_collection_once(tmp_path: Path, shared_data: Path) -> None:
    home = tmp_path / "home"
    user_id = _user(home, "ada")
    bib = str(shared_data / "bibtex" / "d2l.bib")
    args = ("library", "import", bib, "--user", "ada", "--collection", "D2L reading", "--offline")
    code, out, _ = run(home, *args, "--json")
    assert code == 0
    report = orjson.loads(out)
    assert report["collection"] == "D2L reading" and report["format"] == "bibtex"
    assert report["failed"] == 0 and report["unmatched"] + report["matched"] == 488
    assert len(report["entries"]) == 488 and report["added"] > 400
    entry = report["entries"][0]
    assert set(entry) == {
        "location",
        "entry",
        "status",
        "paper_id",
        "matched_by",
        "reason",
        "added",
    }
    code, _, err = run(home, *args)
    assert code == 0
    assert err.strip().endswith(f"added 0, already there {report['added']}")
    assert "matched 488, looked up 0, unmatched 0, failed 0" in err
    engine = open_store(load_settings({}, home=home))
    try:
        found = find_owned_collection(engine, owner_id=user_id, name="d2l READING")
        assert found is not None and found.visibility == "private"
        assert found.item_count == report["added"]
    finally:
        engine.dispose()


def test_library_import_names_what_failed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _user(home, "ada")
    bib = tmp_path / "mine.bib"
    bib.write_text(BROKEN_BIB, encoding="utf-8")
    code, _, err = run(home, "library", "import", str(bib), "--user", "ada", "--offline")
    assert code == 1
    assert "failed: entry untitled (line 2): entry has no title" in err
    assert "unmatched: entry 1 'A fine entry': no stored paper matches it" in err
    assert "Library: matched 0, looked up 0, unmatched 1, failed 1; added 1" in err


def test_library_import_refuses_an_unknown_user_or_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _user(home, "ada")
    bib = tmp_path / "mine.bib"
    bib.write_text(BROKEN_BIB, encoding="utf-8")
    code, _, err = run(home, "library", "import", str(bib), "--user", "nobody", "--offline")
    assert code == 5 and "no user named 'nobody'" in err
    missing = str(tmp_path / "missing.bib")
    code, _, err = run(home, "library", "import", missing, "--user", "ada")
    assert code == 2 and "missing.bib" in err
