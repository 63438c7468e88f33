"""The Kaggle/Cornell arXiv snapshot parser, on the real 200-line sample and on broken input."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from dailypapers.models import PaperRecord, PaperVersion, RecordError, SourceName
from dailypapers.sources.arxiv_snapshot import parse_arxiv_snapshot, parse_rfc2822

SAMPLE = "kaggle-arxiv-snapshot/arxiv-metadata-oai-snapshot.sample200.json"


@pytest.fixture(scope="module")
def sample_lines(shared_data: Path) -> list[bytes]:
    return (shared_data / SAMPLE).read_bytes().splitlines(keepends=True)


def _parse(data: bytes) -> list[PaperRecord | RecordError]:
    return list(parse_arxiv_snapshot(io.BytesIO(data), origin="snapshot.json"))


def _records(items: list[PaperRecord | RecordError]) -> dict[str, PaperRecord]:
    return {r.paper_id: r for r in items if isinstance(r, PaperRecord) and r.paper_id}


def test_sample_yields_200_records_without_errors(sample_lines: list[bytes]) -> None:
    items = _parse(b"".join(sample_lines))

    assert len(items) == 200
    assert not [item for item in items if isinstance(item, RecordError)]
    assert all(isinstance(item, PaperRecord) for item in items)


def test_first_sample_record_is_read_in_full(sample_lines: list[bytes]) -> None:
    record = _records(_parse(b"".join(sample_lines)))["0704.0001"]

    assert record.source is SourceName.ARXIV_SNAPSHOT
    expected_title = (
        "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    )
    assert record.title == expected_title
    assert record.authors == ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan"]
    assert record.author_count == 4
    assert record.categories == ["hep-ph"]
    assert record.versions == [
        PaperVersion(1, datetime(2007, 4, 2, 19, 18, 42, tzinfo=UTC)),
        PaperVersion(2, datetime(2007, 7, 24, 20, 10, 27, tzinfo=UTC)),
    ]
    assert record.published == datetime(2007, 4, 2, 19, 18, 42, tzinfo=UTC)
    assert record.updated == datetime(2007, 7, 24, 20, 10, 27, tzinfo=UTC)
    assert record.doi == "10.1103/physrevd.76.013009"
    assert record.journal_ref == "Phys.Rev.D76:013009,2007"
    assert record.comments == "37 pages, 15 figures; published version"
    assert record.license is None
    assert record.abstract is not None
    assert record.abstract.startswith("A fully differential calculation in perturbative")
    assert "\n" not in record.abstract


def test_categories_doi_and_author_details(sample_lines: list[bytes]) -> None:
    records = _records(_parse(b"".join(sample_lines)))

    second = records["0704.0002"]
    assert second.categories == ["math.CO", "cs.CG"]
    assert second.license == "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"
    assert second.doi is None and second.journal_ref is None
    # Two DOIs separated by a space: the first is kept.
    assert records["0704.0033"].doi == "10.1364/josaa.23.002578"
    # The fourth element of authors_parsed is an affiliation, not part of the name.
    assert records["0704.0025"].authors == ["A. S. Mishchenko", "N. Nagaosa"]
    assert records["0704.0026"].authors == ["Robert P. C. de Marrais"]
    assert len(records["0704.0026"].versions) == 3


def test_authors_string_is_the_fallback_and_old_ids_are_kept() -> None:
    line = orjson.dumps(
        {
            "id": "hep-th/9901001",
            "title": "Old  style\n  id",
            "authors": "A. Smith, B. Jones and C. Li",
            "categories": "hep-th",
            "versions": [{"version": "v1", "created": "Fri, 1 Jan 1999 00:00:01 GMT"}],
        }
    )
    [record] = _parse(line + b"\n")

    assert isinstance(record, PaperRecord)
    assert record.paper_id == "hep-th/9901001"
    assert record.title == "Old style id"
    assert record.authors == ["A. Smith", "B. Jones", "C. Li"]
    assert record.abstract is None and record.doi is None


def test_malformed_line_in_the_middle_names_its_line(sample_lines: list[bytes]) -> None:
    broken = sample_lines[1][: len(sample_lines[1]) // 2] + b"\n"
    items = _parse(sample_lines[0] + broken + sample_lines[2])

    assert [type(item) for item in items] == [PaperRecord, RecordError, PaperRecord]
    error = items[1]
    assert isinstance(error, RecordError)
    assert (error.origin, error.location) == ("snapshot.json", "line 2")
    assert _records(items).keys() == {"0704.0001", "0704.0003"}


def test_truncated_file_loses_only_its_last_line(sample_lines: list[bytes]) -> None:
    data = b"".join(sample_lines)
    items = _parse(data[: len(data) - 300])

    errors = [item for item in items if isinstance(item, RecordError)]
    assert len(items) == 200
    assert [e.location for e in errors] == ["line 200"]


def test_latin1_line_is_an_encoding_error(sample_lines: list[bytes]) -> None:
    latin1 = '{"id": "0704.9999", "title": "Caf\u00e9 physics"}\n'.encode("latin-1")
    items = _parse(sample_lines[0] + latin1 + sample_lines[2])

    error = items[1]
    assert isinstance(error, RecordError)
    assert error.location == "line 2"
    assert "UTF-8" in error.reason
    assert len(_records(items)) == 2


def test_absurd_title_and_missing_or_wrong_fields_are_errors() -> None:
    lines = [
        {"id": "0704.0001", "title": "x" * 2001},
        {"title": "No id"},
        {"id": "not-an-id", "title": "Bad id"},
        {"id": "0704.0002"},
        {"id": "0704.0003", "title": "Bad versions", "versions": [{"created": "x"}]},
        {"id": "0704.0004", "title": ["not", "a", "string"]},
    ]
    items = _parse(b"".join(orjson.dumps(line) + b"\n" for line in lines))

    assert all(isinstance(item, RecordError) for item in items)
    reasons = [item.reason for item in items if isinstance(item, RecordError)]
    assert "title is 2,001 characters (limit 2,000)" in reasons[0]
    assert "id" in reasons[1]
    assert "not an arXiv id" in reasons[2]
    assert "no title" in reasons[3]
    assert "version" in reasons[4]
    assert "must be a string" in reasons[5]


def test_rfc2822_dates_fast_path_and_fallback_agree() -> None:
    expected = datetime(2007, 4, 2, 19, 18, 42, tzinfo=UTC)
    assert parse_rfc2822("Mon, 2 Apr 2007 19:18:42 GMT") == expected
    assert parse_rfc2822("Mon, 2 Apr 2007 21:18:42 +0200") == expected
