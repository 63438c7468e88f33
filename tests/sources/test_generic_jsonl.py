"""The documented generic JSON-lines format: SciFact imports as is, every key behaves as stated."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from dailypapers.models import PaperRecord, RecordError, SourceName
from dailypapers.sources.generic_jsonl import parse_generic_jsonl


def _parse_lines(*objs: Any) -> list[PaperRecord | RecordError]:
    data = b"".join(orjson.dumps(obj) + b"\n" for obj in objs)
    return list(parse_generic_jsonl(io.BytesIO(data), origin="papers.jsonl"))


def _one(obj: dict[str, Any]) -> PaperRecord:
    [record] = _parse_lines(obj)
    assert isinstance(record, PaperRecord), record
    return record


def _error(obj: dict[str, Any]) -> RecordError:
    [error] = _parse_lines(obj)
    assert isinstance(error, RecordError), error
    return error


def test_scifact_corpus_imports_directly(shared_data: Path) -> None:
    with (shared_data / "scifact" / "corpus.jsonl").open("rb") as stream:
        items = list(parse_generic_jsonl(stream, origin="corpus.jsonl"))

    records = [item for item in items if isinstance(item, PaperRecord)]
    assert len(items) == 5183
    assert len(records) == 5183
    first = records[0]
    assert first.paper_id == "4983"
    assert first.source is SourceName.GENERIC
    assert first.title.startswith("Microstructural development of human newborn cerebral")
    assert first.abstract is not None
    assert first.abstract.startswith("Alterations of the architecture of cerebral white matter")
    assert len({r.paper_id for r in records}) == 5183


def test_every_documented_key_is_read() -> None:
    record = _one(
        {
            "id": "https://arxiv.org/abs/2104.12255v2",
            "title": "  A   full\n record ",
            "abstract": "Abstract  text.",
            "authors": ["Ada Lovelace", " Alan Turing "],
            "published": "2021-04-25",
            "updated": "2021-05-01T12:00:00+02:00",
            "categories": "cs.LG stat.ML",
            "url": "https://arxiv.org/abs/2104.12255",
            "pdf_url": "https://arxiv.org/pdf/2104.12255",
            "code_url": "https://github.com/example/code",
            "doi": "https://doi.org/10.1000/XYZ.1",
            "journal_ref": "J. Examples 1 (2021)",
            "comments": "10 pages",
            "license": "CC-BY-4.0",
            "unknown": {"ignored": True},
        }
    )

    assert record.paper_id == "2104.12255"
    assert record.title == "A full record"
    assert record.abstract == "Abstract text."
    assert record.authors == ["Ada Lovelace", "Alan Turing"]
    assert record.author_count == 2
    assert record.published == datetime(2021, 4, 25, tzinfo=UTC)
    assert record.updated == datetime(2021, 5, 1, 10, tzinfo=UTC)
    assert record.categories == ["cs.LG", "stat.ML"]
    assert record.abs_url == "https://arxiv.org/abs/2104.12255"
    assert record.pdf_url == "https://arxiv.org/pdf/2104.12255"
    assert record.code_url == "https://github.com/example/code"
    assert record.doi == "10.1000/xyz.1"
    assert (record.journal_ref, record.comments, record.license) == (
        "J. Examples 1 (2021)",
        "10 pages",
        "CC-BY-4.0",
    )


def test_ids_are_normalised_by_kind() -> None:
    assert _one({"id": "arXiv:hep-th/9901001v3", "title": "t"}).paper_id == "hep-th/9901001"
    doi_record = _one({"id": "doi:10.1145/ABC.123", "title": "t"})
    assert (doi_record.paper_id, doi_record.doi) == ("10.1145/abc.123", "10.1145/abc.123")
    assert _one({"id": " PMID-77 ", "title": "t"}).paper_id == "PMID-77"
    assert _one({"id": 4983, "title": "t"}).paper_id == "4983"
    assert _one({"_id": "42", "title": "t", "text": "from text"}).abstract == "from text"
    assert _one({"id": "", "title": "Matched by title"}).paper_id is None
    assert _one({"title": "No id at all"}).paper_id is None


def test_author_strings_and_category_lists() -> None:
    assert _one({"title": "t", "authors": "A. Smith, B. Jones and C. Li"}).authors == [
        "A. Smith",
        "B. Jones",
        "C. Li",
    ]
    assert _one({"title": "t", "authors": "Smith, A.; Jones, B."}).authors == [
        "Smith, A.",
        "Jones, B.",
    ]
    assert _one({"title": "t", "categories": ["cs.AI", " "]}).categories == ["cs.AI"]
    record = _one({"title": "t", "abstract": "", "comments": "  "})
    assert record.abstract is None and record.comments is None
    assert record.authors == [] and record.author_count is None


def test_wrong_values_are_errors_naming_the_field() -> None:
    assert "title" in _error({"id": "1"}).reason
    assert "fraction" in _error({"id": 2104.123, "title": "t"}).reason
    assert "'id'" in _error({"id": ["1"], "title": "t"}).reason
    assert "'doi'" in _error({"title": "t", "doi": "not a doi"}).reason
    assert "'published'" in _error({"title": "t", "published": "25/04/2021"}).reason
    assert "'authors'" in _error({"title": "t", "authors": [1, 2]}).reason
    assert "'title' must be a string" in _error({"title": 12}).reason


def test_bad_lines_do_not_stop_the_import() -> None:
    good = orjson.dumps({"id": "1", "title": "First"}) + b"\n"
    latin1 = '{"id": "2", "title": "Caf\u00e9"}\n'.encode("latin-1")
    long_abstract = orjson.dumps({"id": "3", "title": "t", "abstract": "a" * 100_001}) + b"\n"
    data = good + b'{"id": "x", "title": \n' + latin1 + long_abstract + b'{"id": "5", "title": "La'

    items = list(parse_generic_jsonl(io.BytesIO(data), origin="papers.jsonl"))

    assert isinstance(items[0], PaperRecord)
    errors = [item for item in items[1:] if isinstance(item, RecordError)]
    assert [e.location for e in errors] == ["line 2", "line 3", "line 4", "line 5"]
    assert "UTF-8" in errors[1].reason
    assert "abstract is 100,001 characters (limit 100,000)" in errors[2].reason
    assert "truncated" in errors[3].reason
