"""The Hugging Face daily_papers parser, on the real 2024-10-25 response and on broken input."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from dailypapers.models import PaperRecord, RecordError, SourceName
from dailypapers.sources.hf_daily import parse_hf_daily, parse_hf_paper

SAMPLE = "hf-daily-papers/daily_papers-2024-10-25.first4.json"


@pytest.fixture(scope="module")
def sample(shared_data: Path) -> bytes:
    return (shared_data / SAMPLE).read_bytes()


def _parse(data: bytes) -> list[PaperRecord | RecordError]:
    return list(parse_hf_daily(io.BytesIO(data), origin="daily.json"))


def _only_records(items: list[PaperRecord | RecordError]) -> list[PaperRecord]:
    assert not [item for item in items if isinstance(item, RecordError)]
    return [item for item in items if isinstance(item, PaperRecord)]


def test_sample_items_keep_list_data(sample: bytes) -> None:
    records = _only_records(_parse(sample))

    assert [r.paper_id for r in records] == ["2410.17243", "2410.16251", "2410.18533", "2410.18693"]
    assert [r.upvotes for r in records] == [64, 41, 37, 35]
    assert [r.comment_count for r in records] == [3, 2, 2, 2]
    assert [r.submitted_by for r in records] == [
        "ClownRat",
        "canyuchen",
        "ZetangForward",
        "dyyyyyyyy",
    ]
    assert {r.daily_date for r in records} == {date(2024, 10, 25)}
    assert [r.author_count for r in records] == [9, 5, 5, 6]
    assert all(r.source is SourceName.HF_DAILY for r in records)


def test_first_item_paper_fields(sample: bytes) -> None:
    first = _only_records(_parse(sample))[0]

    assert first.title == (
        "Breaking the Memory Barrier: Near Infinite Batch Size Scaling for Contrastive Loss"
    )
    assert first.authors[:2] == ["Zesen Cheng", "Hang Zhang"]
    assert first.authors[-1] == "Lidong Bing"
    # publishedAt on the paper is the arXiv date; on the item it is the daily-list date.
    assert first.published == datetime(2024, 10, 22, 17, 59, 30, tzinfo=UTC)
    assert first.abstract is not None
    assert first.abstract.startswith("Contrastive loss is a powerful approach")
    assert "\n" not in first.abstract
    assert first.code_url is None and first.project_url is None


def _newer_item() -> dict[str, Any]:
    return {
        "paper": {
            "id": "2501.00001",
            "title": "A newer item",
            "summary": "Text.",
            "authors": [{"name": "Ada Lovelace"}, {"name": ""}, {"_id": "x"}],
            "publishedAt": "2025-01-01T10:00:00.000Z",
            "upvotes": 7,
            "githubRepo": "https://github.com/example/repo",
            "projectPage": "https://example.org/project",
            "submittedOnDailyBy": {"name": "akhaliq", "fullname": "AK"},
        },
        "publishedAt": "2025-01-02T23:30:00.000Z",
        "numComments": 0,
    }


def test_newer_fields_map_to_urls_and_submitter() -> None:
    record = parse_hf_paper(_newer_item(), origin="daily.json", location="item 1")

    assert isinstance(record, PaperRecord)
    assert record.code_url == "https://github.com/example/repo"
    assert record.project_url == "https://example.org/project"
    assert record.submitted_by == "akhaliq"
    assert record.authors == ["Ada Lovelace"]
    assert record.daily_date == date(2025, 1, 2)
    assert record.comment_count == 0


def test_bare_paper_object_has_no_daily_list_data() -> None:
    record = parse_hf_paper(_newer_item()["paper"], origin="paper.json", location="item 1")

    assert isinstance(record, PaperRecord)
    assert record.paper_id == "2501.00001"
    assert record.daily_date is None and record.comment_count is None
    assert record.upvotes == 7


def test_a_bad_item_is_reported_and_the_others_kept(sample: bytes) -> None:
    items: list[Any] = orjson.loads(sample)
    del items[1]["paper"]["id"]
    items[2]["paper"]["id"] = "not an arxiv id"
    items.insert(3, "not an object")

    parsed = _parse(orjson.dumps(items))

    errors = [p for p in parsed if isinstance(p, RecordError)]
    assert [(e.origin, e.location) for e in errors] == [
        ("daily.json", "item 2"),
        ("daily.json", "item 3"),
        ("daily.json", "item 4"),
    ]
    assert "not an arXiv id" in errors[1].reason
    assert [p.paper_id for p in parsed if isinstance(p, PaperRecord)] == [
        "2410.17243",
        "2410.18693",
    ]


def test_truncated_response_is_one_error(sample: bytes) -> None:
    parsed = _parse(sample[: len(sample) // 2])

    assert len(parsed) == 1
    assert isinstance(parsed[0], RecordError)
    assert parsed[0].reason.startswith("invalid JSON")


def test_latin1_bytes_and_absurd_titles_are_errors() -> None:
    latin1 = '[{"paper": {"id": "2501.00001", "title": "Caf\u00e9"}}]'.encode("latin-1")
    [error] = _parse(latin1)
    assert isinstance(error, RecordError)

    item = _newer_item()
    item["paper"]["title"] = "t" * 2001
    [too_long] = _parse(orjson.dumps([item]))
    assert isinstance(too_long, RecordError)
    assert too_long.location == "item 1"
    assert "characters (limit 2,000)" in too_long.reason


def test_an_object_instead_of_an_array_is_refused() -> None:
    [error] = _parse(b'{"paper": {}}')

    assert isinstance(error, RecordError)
    assert "JSON array" in error.reason
