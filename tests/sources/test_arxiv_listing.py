"""The daily arXiv listing parser, on the real 2025-2026 cs listings and on broken input."""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import BinaryIO, cast

import pytest

from dailypapers.models import PaperRecord, RecordError, SourceName
from dailypapers.sources.arxiv_listing import parse_arxiv_listing

FOLDER = "arxiv-cs-2025"


def _parse(data: bytes) -> list[PaperRecord | RecordError]:
    return list(parse_arxiv_listing(io.BytesIO(data), origin="listing.jsonl"))


@pytest.fixture(scope="module")
def daily_lines(shared_data: Path) -> list[bytes]:
    return (shared_data / FOLDER / "2025-03-18.jsonl").read_bytes().splitlines(keepends=True)


@pytest.mark.slow
def test_whole_gzipped_listing_parses_without_errors(shared_data: Path) -> None:
    path = shared_data / FOLDER / "arxiv-cs-2025-03_2026-07.jsonl.gz"
    # typeshed does not count GzipFile as a BinaryIO, though it is one in practice.
    with gzip.open(path, "rb") as stream:
        items = list(parse_arxiv_listing(cast(BinaryIO, stream), origin=path.name))

    records = [item for item in items if isinstance(item, PaperRecord)]
    assert len(items) == 74_728
    assert len(records) == 74_728
    assert len({r.paper_id for r in records}) == 74_728
    # The listings carry no dates; none may be invented from the id.
    assert all(r.published is None and r.updated is None for r in records)
    assert max(len(r.authors) for r in records) == 3303


def test_daily_file_records_are_read_in_full(daily_lines: list[bytes]) -> None:
    items = _parse(b"".join(daily_lines))

    records = [item for item in items if isinstance(item, PaperRecord)]
    assert len(records) == len(items) == 465
    first, second = records[0], records[1]
    assert first.source is SourceName.ARXIV_LISTING
    assert first.paper_id == "2503.11731"
    assert first.title.startswith("Industrial-Grade Sensor Simulation via Gaussian Splatting")
    assert len(first.authors) == first.author_count == 16
    assert first.authors[0] == "Xianming Zeng"
    assert first.categories == ["cs.CV", "cs.RO"]
    assert first.comments is None
    assert first.abs_url == "https://arxiv.org/abs/2503.11731"
    assert first.pdf_url == "https://arxiv.org/pdf/2503.11731"
    assert first.abstract is not None
    assert first.abstract.startswith("Sensor simulation is pivotal for scalable validation")
    assert "\n" not in first.abstract and "  " not in first.abstract
    assert second.comments == "Work in progress"
    assert second.authors[0] == "Moreno D'Incà"


def test_malformed_and_truncated_lines_name_their_line(daily_lines: list[bytes]) -> None:
    data = daily_lines[0] + b'{"id": "2503.1", oops}\n' + daily_lines[1] + daily_lines[2][:80]

    items = _parse(data)

    assert [type(item) for item in items] == [PaperRecord, RecordError, PaperRecord, RecordError]
    assert [item.location for item in items if isinstance(item, RecordError)] == [
        "line 2",
        "line 4",
    ]


def test_latin1_and_bad_fields_are_errors(daily_lines: list[bytes]) -> None:
    latin1 = '{"id": "2503.00001", "title": "Caf\u00e9", "authors": []}\n'.encode("latin-1")
    bad_id = b'{"id": "cs/abc", "title": "t"}\n'
    bad_authors = b'{"id": "2503.00002", "title": "t", "authors": "one string"}\n'
    long_title = b'{"id": "2503.00003", "title": "' + b"x" * 2001 + b'"}\n'

    items = _parse(latin1 + bad_id + bad_authors + long_title + daily_lines[0])

    reasons = [item.reason for item in items if isinstance(item, RecordError)]
    assert len(reasons) == 4
    assert "UTF-8" in reasons[0]
    assert "not an arXiv id" in reasons[1]
    assert "list of strings" in reasons[2]
    assert "title is 2,001 characters (limit 2,000)" in reasons[3]
    assert isinstance(items[-1], PaperRecord)


def test_msc_and_acm_classes_are_not_taken_for_categories() -> None:
    line = (
        b'{"id": "2505.01754", "pdf": null, "abs": null, "authors": ["A B"], "title": "T",'
        b' "categories": ["cs.AI", "cs.CL", "68T09, 68T50,\\n  62R07", "I.2; H.3; I.5"],'
        b' "comment": null, "summary": "S"}\n'
    )
    [record] = list(parse_arxiv_listing(io.BytesIO(line), origin="x.jsonl"))
    assert isinstance(record, PaperRecord)
    assert record.categories == ["cs.AI", "cs.CL"]
