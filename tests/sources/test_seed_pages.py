"""The saved Daily Papers pages: both layouts, yearless dates, and damaged pages."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from dailypapers.models import PaperRecord, RecordError, SourceName
from dailypapers.sources.seed_pages import parse_seed_page

SAVED_ON = date(2026, 5, 1)


def _parse_file(path: Path, reference: date | None = SAVED_ON) -> list[PaperRecord]:
    with path.open("rb") as stream:
        items = list(parse_seed_page(stream, origin=path.name, reference_date=reference))
    assert not [item for item in items if isinstance(item, RecordError)]
    return [item for item in items if isinstance(item, PaperRecord)]


def _page(seeds_dir: Path, prefix: str) -> Path:
    [path] = seeds_dir.glob(f"{prefix}_*.txt")
    return path


def _parse_text(text: str | bytes, reference: date | None = SAVED_ON) -> list[object]:
    data = text.encode() if isinstance(text, str) else text
    return list(parse_seed_page(io.BytesIO(data), origin="page.txt", reference_date=reference))


def test_all_four_pages_hold_476_papers(seeds_dir: Path) -> None:
    counts = {p.name[:3]: len(_parse_file(p)) for p in sorted(seeds_dir.glob("*.txt"))}

    assert counts == {"000": 38, "001": 224, "002": 32, "003": 182}
    assert sum(counts.values()) == 476


def test_card_layout_reads_counts_votes_and_dates(seeds_dir: Path) -> None:
    records = _parse_file(_page(seeds_dir, "000"))

    first = records[0]
    assert first.source is SourceName.SEED_PAGE
    assert first.paper_id is None and first.authors == []
    assert first.title == (
        "Routing Matters in MoE: Scaling Diffusion Transformers with Explicit Routing Guidance"
    )
    assert first.abstract is not None
    assert first.abstract.startswith("Mixture-of-Experts (MoE) has emerged as a powerful")
    assert first.author_count == 11
    assert first.published == datetime(2025, 10, 28, tzinfo=UTC)
    assert first.upvotes == 1
    assert first.daily_date == date(2026, 5, 1)
    assert records[1].upvotes is None
    mist = next(r for r in records if r.title.startswith("MIST: Mutual Information"))
    assert (mist.upvotes, mist.published) == (2, datetime(2025, 11, 24, tzinfo=UTC))
    assert records[-1].title == "Preserving Statistical Validity in Adaptive Data Analysis"
    assert records[-1].published == datetime(2014, 11, 10, tzinfo=UTC)


def test_yearless_dates_take_the_latest_year_not_after_the_reference(seeds_dir: Path) -> None:
    path = _page(seeds_dir, "000")
    boolean = "Learning with Boolean threshold functions"

    spring = {r.title: r for r in _parse_file(path, date(2026, 5, 1))}
    assert spring[boolean].published == datetime(2026, 2, 19, tzinfo=UTC)
    assert spring[boolean].daily_date == date(2026, 5, 1)

    # Saved on 1 March 2026: "May 1" cannot be in 2026 yet, so the page is from 2025.
    march = {r.title: r for r in _parse_file(path, date(2026, 3, 1))}
    assert march[boolean].published == datetime(2026, 2, 19, tzinfo=UTC)
    assert march[boolean].daily_date == date(2025, 5, 1)

    unknown = {r.title: r for r in _parse_file(path, None)}
    assert unknown[boolean].published is None
    assert unknown[boolean].daily_date is None
    assert unknown[boolean].author_count == 2
    # Dates that carry their year do not need the reference.
    assert unknown["Preserving Statistical Validity in Adaptive Data Analysis"].published


def test_second_card_page_has_its_own_date_and_single_authors(seeds_dir: Path) -> None:
    records = _parse_file(_page(seeds_dir, "002"))

    assert {r.daily_date for r in records} == {date(2026, 1, 7)}
    realizability = next(r for r in records if r.title.startswith("When is Realizability"))
    assert realizability.author_count == 1
    assert realizability.published == datetime(2022, 11, 9, tzinfo=UTC)
    assert all(r.author_count and r.published and r.abstract for r in records)


def test_list_layout_alternates_titles_and_abstracts(seeds_dir: Path) -> None:
    records = _parse_file(_page(seeds_dir, "003"))

    first = records[0]
    assert first.title == "Submodular Reinforcement Learning"
    assert first.abstract is not None
    assert first.abstract.startswith("In reinforcement learning (RL), rewards of states")
    assert first.author_count is None and first.published is None and first.daily_date is None
    assert records[-1].title == "Confidence Ranking for CTR Prediction"
    assert all(r.abstract and len(r.abstract) > len(r.title) for r in records)
    other = _parse_file(_page(seeds_dir, "001"))
    assert other[0].title == "Improved sampling via learned diffusions"
    # The pages lost LaTeX backslashes; the text is kept as it is.
    assert any("qin[1,infty]" in (r.abstract or "") for r in other)


CARD_PAGE = """new

Subscribe

Daily Papers

Feb 29

A paper without abstract



  • 3 authors
·
Feb 29 12

Second paper

Its abstract.

  • 1 author
·
Mar 3, 2024

Cut-off paper

Half an abs"""


def test_card_page_with_missing_abstract_leap_day_and_cut_off_end() -> None:
    items = _parse_text(CARD_PAGE, reference=date(2027, 3, 1))

    first, second, *cut = items
    assert isinstance(first, PaperRecord) and isinstance(second, PaperRecord)
    assert first.abstract is None
    assert first.author_count == 3
    assert first.upvotes == 12
    assert first.published == datetime(2024, 2, 29, tzinfo=UTC)
    assert first.daily_date == date(2024, 2, 29)
    assert (second.abstract, second.author_count) == ("Its abstract.", 1)
    # "Half an abs" is short and has no full stop, so it reads as a title: both lines fail.
    assert [(type(e), e.location) for e in cut] == [
        (RecordError, "line 25"),
        (RecordError, "line 27"),
    ]
    assert all("cut off" in e.reason for e in cut if isinstance(e, RecordError))


def test_latin1_bytes_fail_only_their_paper() -> None:
    page = (
        b"Get trending papers in your email inbox!\n"
        b"SubscribeFirst title\nFirst abstract.\n"
        b"Caf\xe9 title\nSecond abstract.\n"
        b"Third title\nThird abstract.\n"
    )

    items = _parse_text(page)

    errors = [item for item in items if isinstance(item, RecordError)]
    assert [(e.origin, e.location) for e in errors] == [("page.txt", "line 4")]
    titles = [item.title for item in items if isinstance(item, PaperRecord)]
    assert titles == ["First title", "Third title"]


@pytest.mark.parametrize("text", ["", "just some text\nwithout the page header\n"])
def test_text_that_is_not_a_saved_page_is_one_error(text: str) -> None:
    [error] = _parse_text(text)

    assert isinstance(error, RecordError)
    assert error.location == "file"


def test_over_long_line_where_a_title_should_be_fails_alone() -> None:
    items = _parse_text("Subscribe" + "x" * 2001 + "\nAbstract.\nOk title\nAbstract.\n")

    # Over 300 characters reads as an abstract: no title before it, and none before the next.
    assert [(type(i), getattr(i, "location", None)) for i in items[:2]] == [
        (RecordError, "line 1"),
        (RecordError, "line 2"),
    ]
    assert all("no title before it" in i.reason for i in items[:2] if isinstance(i, RecordError))
    assert isinstance(items[2], PaperRecord)
    assert (items[2].title, items[2].abstract) == ("Ok title", "Abstract.")


def test_lines_that_belong_to_no_paper_fail_alone() -> None:
    page = "\n".join(
        [
            "Subscribe",
            "First paper",
            "Its abstract.",
            "Its abstract goes on in a second paragraph.",
            "  • 2 authors",
            "·",
            "Mar 3, 2024",
            "  • 4 authors",
            "·",
            "Mar 4, 2024",
            "Last paper",
            "  • 1 author",
            "Mar 5, 2024",
        ]
    )

    first, stray_abstract, stray_tail, last = _parse_text(page)

    # Never glued to a neighbour: each stray part is a failure naming its first line.
    assert isinstance(first, PaperRecord) and isinstance(last, PaperRecord)
    assert (first.title, first.abstract, first.author_count) == (
        "First paper",
        "Its abstract.",
        None,
    )
    assert isinstance(stray_abstract, RecordError) and stray_abstract.location == "line 4"
    assert "no title before it" in stray_abstract.reason
    assert isinstance(stray_tail, RecordError) and stray_tail.location == "line 8"
    assert "no paper before them" in stray_tail.reason
    assert (last.title, last.author_count) == ("Last paper", 1)
    assert last.published == datetime(2024, 3, 5, tzinfo=UTC)
