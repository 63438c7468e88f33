"""Importing real files and folders: detection, dedupe, re-runs, bad input."""

from __future__ import annotations

import gzip
import random
import shutil
import struct
import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from dailypapers.config import Settings
from dailypapers.ingest.batching import located, store_records
from dailypapers.ingest.files import ImportOptions, import_paths
from dailypapers.sources.arxiv_listing import parse_arxiv_listing
from dailypapers.store.engine import open_store
from dailypapers.store.papers import LocatedRecord, count_papers, get_paper

NOW = datetime(2026, 11, 23, tzinfo=UTC)
AUTO = ImportOptions(format="auto", reference_date=date(2026, 11, 23), batch_size=500)


def test_seed_pages_import_once_and_rerun_changes_nothing(
    engine: sa.Engine, seeds_dir: Path
) -> None:
    first = import_paths(engine, [seeds_dir], AUTO, now=NOW)
    assert first.failed == 0, first.failures[:3]
    assert first.imported + first.updated + first.unchanged == 476
    stored = count_papers(engine)
    # The same paper appears on several pages: fewer papers than entries, none lost.
    assert first.imported == stored
    assert 300 < stored < 476
    again = import_paths(engine, [seeds_dir], AUTO, now=NOW)
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 476)
    assert count_papers(engine) == stored


def test_every_real_sample_format_is_detected_and_imported(
    sqlite_settings: Settings, shared_data: Path
) -> None:
    engine = open_store(sqlite_settings)
    samples = [
        shared_data / "kaggle-arxiv-snapshot" / "arxiv-metadata-oai-snapshot.sample200.json",
        shared_data / "arxiv-oai-pmh" / "ListRecords-387-reindented.xml",
        shared_data / "arxiv-rss" / "cs.AI-2025-08-20.xml",
        shared_data / "hf-daily-papers" / "daily_papers-2024-10-25.first4.json",
        shared_data / "bibtex" / "d2l.bib",
        shared_data / "arxiv-cs-2025" / "2026-07-01.jsonl",
        shared_data / "arxiv-api-atom" / "legacy-2016" / "query-1.xml",
    ]
    for sample in samples:
        summary = import_paths(engine, [sample], AUTO, now=NOW)
        assert summary.imported + summary.updated > 0, sample
        assert summary.failed == 0, (sample, summary.failures[:3])
    assert get_paper(engine, paper_id="2410.17243") is not None  # from the HF sample
    engine.dispose()


def test_gzip_is_read_transparently(
    sqlite_settings: Settings, shared_data: Path, tmp_path: Path
) -> None:
    plain = shared_data / "arxiv-cs-2025" / "2026-01-15.jsonl"
    packed = tmp_path / "listing.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    engine = open_store(sqlite_settings)
    from_gzip = import_paths(engine, [packed], AUTO, now=NOW)
    from_plain = import_paths(engine, [plain], AUTO, now=NOW)
    lines = plain.read_bytes().splitlines()
    # Daily listings repeat cross-listed papers: one paper per distinct id.
    assert from_gzip.imported == len({orjson.loads(line)["id"] for line in lines})
    assert from_gzip.imported + from_gzip.unchanged == len(lines)
    assert from_plain.unchanged == len(lines)
    engine.dispose()


def test_truncated_gzip_keeps_what_was_read(
    sqlite_settings: Settings, shared_data: Path, tmp_path: Path
) -> None:
    data = gzip.compress((shared_data / "arxiv-cs-2025" / "2025-03-18.jsonl").read_bytes())
    truncated = tmp_path / "cut.jsonl.gz"
    truncated.write_bytes(data[: len(data) // 2])
    engine = open_store(sqlite_settings)
    summary = import_paths(engine, [truncated], AUTO, now=NOW)
    assert summary.imported > 100
    assert count_papers(engine) == summary.imported
    [failure] = summary.failures
    assert failure.origin == str(truncated)
    assert failure.location == f"after record {summary.imported + summary.unchanged}"
    assert "truncated or corrupt" in failure.reason
    engine.dispose()


def test_unknown_format_and_missing_file_are_named(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    strange = tmp_path / "notes.txt"
    strange.write_text("just some notes\nnothing to import\n")
    engine = open_store(sqlite_settings)
    summary = import_paths(engine, [strange, tmp_path / "missing.json"], AUTO, now=NOW)
    assert summary.failed == 2
    assert "cannot tell the format" in summary.failures[0].reason
    assert summary.failures[1].origin.endswith("missing.json")
    engine.dispose()


def test_bad_line_fails_alone_and_stored_paper_is_untouched(
    engine: sa.Engine, shared_data: Path, tmp_path: Path
) -> None:
    source = shared_data / "arxiv-cs-2025" / "2026-07-01.jsonl"
    lines = source.read_bytes().splitlines(keepends=True)
    good = tmp_path / "good.jsonl"
    good.write_bytes(b"".join(lines[:20]))
    import_paths(engine, [good], AUTO, now=NOW)
    first_id = import_first_id(lines[0])
    before = get_paper(engine, paper_id=first_id)
    broken = tmp_path / "broken.jsonl"
    broken.write_bytes(lines[0][: len(lines[0]) // 2] + b"\n" + b"".join(lines[1:30]))
    summary = import_paths(engine, [broken], AUTO, now=NOW)
    assert summary.failed == 1
    assert summary.failures[0].location.startswith("line 1")
    assert (summary.imported, summary.unchanged) == (10, 19)
    assert get_paper(engine, paper_id=first_id) == before


def import_first_id(line: bytes) -> str:
    value: str = orjson.loads(line)["id"]
    return value


def test_folder_import_skips_hidden_files(
    sqlite_settings: Settings, shared_data: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "dumps"
    (folder / "nested").mkdir(parents=True)
    shutil.copy(shared_data / "bibtex" / "d2l.bib", folder / "nested" / "refs.bib")
    (folder / ".hidden.json").write_text("not json")
    engine = open_store(sqlite_settings)
    summary = import_paths(engine, [folder], AUTO, now=NOW)
    assert summary.failed == 0 and summary.imported > 400
    engine.dispose()


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords>&lol3;</ListRecords></OAI-PMH>
"""


def test_a_folder_of_bad_inputs_names_each_problem_and_keeps_the_good(
    sqlite_settings: Settings, shared_data: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "bomb.xml").write_bytes(BILLION_LAUGHS)
    (folder / "latin1.jsonl").write_bytes(
        '{"id": "x-1", "title": "Caf\u00e9 au lait"}\n'.encode("latin-1")
        + b'{"id": "x-2", "title": "Plain ASCII title"}\n'
    )
    (folder / "huge-title.jsonl").write_bytes(orjson.dumps({"id": "x-3", "title": "t" * 5000}))
    shutil.copy(shared_data / "hf-daily-papers" / "daily_papers-2024-10-25.first4.json", folder)
    engine = open_store(sqlite_settings)
    summary = import_paths(engine, [folder], AUTO, now=NOW)
    engine.dispose()
    reasons = {Path(f.origin).name: (f.location, f.reason) for f in summary.failures}
    assert set(reasons) == {"bomb.xml", "latin1.jsonl", "huge-title.jsonl"}
    assert "entit" in reasons["bomb.xml"][1].lower()
    assert reasons["latin1.jsonl"][0] == "line 1" and "UTF-8" in reasons["latin1.jsonl"][1]
    assert "2,000" in reasons["huge-title.jsonl"][1] or "2000" in reasons["huge-title.jsonl"][1]
    assert summary.imported == 4 + 1


def _png(width: int = 64, height: int = 64) -> bytes:
    """A real PNG of random pixels: binary bytes with many newlines in them."""
    noise = random.Random(7).randbytes
    rows = b"".join(b"\x00" + noise(width * 3) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_first_record_over_64_kib_is_detected_and_every_line_imported(
    sqlite_settings: Settings, shared_data: Path, tmp_path: Path
) -> None:
    sample = shared_data / "kaggle-arxiv-snapshot" / "arxiv-metadata-oai-snapshot.sample200.json"
    lines = sample.read_bytes().splitlines(keepends=True)
    first = orjson.loads(lines[0])
    first["abstract"] = ("A valid and very long abstract. " * 2200)[:70_000]
    plain = tmp_path / "snapshot.json"
    plain.write_bytes(orjson.dumps(first) + b"\n" + b"".join(lines[1:]))
    packed = tmp_path / "snapshot.json.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    engine = open_store(sqlite_settings)
    imported = import_paths(engine, [plain], AUTO, now=NOW)
    again = import_paths(engine, [packed], AUTO, now=NOW)
    paper = get_paper(engine, paper_id=first["id"])
    engine.dispose()
    assert (imported.failed, imported.imported) == (0, 200), imported.failures[:3]
    assert (again.failed, again.unchanged) == (0, 200), again.failures[:3]
    assert paper is not None and paper.abstract is not None
    assert len(paper.abstract) > 69_000
    assert paper.authors  # read as the arXiv snapshot, not as generic lines


def test_files_no_format_can_read_say_why(sqlite_settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "inputs"
    folder.mkdir()
    (folder / "empty.json").write_bytes(b"")
    (folder / "blank.jsonl").write_bytes(b"\n  \n\n")
    (folder / "picture.json").write_bytes(_png())
    (folder / "broken.jsonl").write_bytes(b'{"title": "no closing brace"\n{"title": \n')
    (folder / "notes.txt").write_text("just some notes\n")
    engine = open_store(sqlite_settings)
    summary = import_paths(engine, [folder], AUTO, now=NOW)
    engine.dispose()
    reasons = {Path(f.origin).name: f.reason for f in summary.failures}
    assert {f.location for f in summary.failures} == {"file"}
    assert reasons.pop("broken.jsonl").startswith("bad JSON at line 1: ")
    assert reasons.pop("notes.txt").startswith("cannot tell the format; pass --format")
    assert reasons == {
        "empty.json": "empty file",
        "blank.jsonl": "empty file (only blank lines)",
        "picture.json": "binary, not text",
    }


def test_a_binary_file_read_with_a_named_format_is_one_error(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    picture = tmp_path / "refs.bib"
    picture.write_bytes(_png())
    engine = open_store(sqlite_settings)
    for name in ("bibtex", "generic", "seed-page"):
        options = ImportOptions(format=name, reference_date=date(2026, 11, 23), batch_size=500)
        summary = import_paths(engine, [picture], options, now=NOW)
        assert [(f.location, f.reason) for f in summary.failures] == [("file", "binary, not text")]
    engine.dispose()


def test_ctrl_c_while_reading_writes_nothing_more_and_a_rerun_completes(
    sqlite_settings: Settings, shared_data: Path, tmp_path: Path
) -> None:
    """Ctrl-C stops an import where it is: the batch being gathered is not written on the way
    out (a write after an interrupt could wait on the interrupted transaction's lock for the
    whole busy timeout), whole batches before it stay, and running the import again completes."""
    path = shared_data / "arxiv-cs-2025" / "arxiv-cs-2025-03_2026-07.jsonl.gz"
    engine = open_store(sqlite_settings)

    read: list[str | None] = []

    def interrupted() -> Iterator[LocatedRecord]:
        with gzip.open(path, "rb") as stream:
            records = parse_arxiv_listing(stream, origin=str(path))
            for item in located(records, str(path)):
                if len(read) == 250:
                    raise KeyboardInterrupt
                assert isinstance(item, LocatedRecord)
                read.append(item.record.paper_id)
                yield item

    with pytest.raises(KeyboardInterrupt):
        store_records(engine, interrupted(), now=NOW, batch_size=100)
    assert len(set(read)) == 250
    assert count_papers(engine) == 200  # two whole batches; the third was being gathered
    head = tmp_path / "head.jsonl"
    with gzip.open(path, "rb") as stream:
        head.write_bytes(b"".join(stream.readline() for _ in range(300)))
    summary = import_paths(engine, [head], AUTO, now=NOW)
    assert (summary.failed, summary.unchanged, summary.imported) == (0, 200, 100)
    engine.dispose()
