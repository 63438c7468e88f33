"""Record size limits: the maximum is accepted, one more is refused with a clear reason."""

from __future__ import annotations

import pytest

from dailypapers.limits import MAX_ABSTRACT_CHARS, MAX_AUTHORS, MAX_TITLE_CHARS, limit_problem
from dailypapers.models import PaperRecord, SourceName


def _record(**changes: object) -> PaperRecord:
    fields: dict[str, object] = {"source": SourceName.ARXIV_API, "title": "A title"}
    fields.update(changes)
    return PaperRecord(**fields)  # type: ignore[arg-type]


def test_limits_accept_records_at_the_limit() -> None:
    record = _record(
        title="t" * MAX_TITLE_CHARS,
        abstract="a" * MAX_ABSTRACT_CHARS,
        authors=["A"] * MAX_AUTHORS,
        author_count=MAX_AUTHORS,
    )
    assert limit_problem(record) is None


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"title": "t" * (MAX_TITLE_CHARS + 1)}, "title is 2,001 characters (limit 2,000)"),
        ({"abstract": "a" * (MAX_ABSTRACT_CHARS + 1)}, "abstract is 100,001 characters"),
        ({"authors": ["A"] * (MAX_AUTHORS + 1)}, "more than 10,000 authors (10,001)"),
        ({"author_count": MAX_AUTHORS + 1}, "more than 10,000 authors (10,001)"),
    ],
)
def test_limits_refuse_absurd_fields(changes: dict[str, object], expected: str) -> None:
    problem = limit_problem(_record(**changes))
    assert problem is not None
    assert problem.startswith(expected)
