"""Query parsing: words, phrases, exclusions, filters, and clear errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dailypapers.index.keyword import query_word_analyzer, text_analyzer, words_analyzer
from dailypapers.search.query import (
    EMPTY_QUERY,
    MAX_QUERY_CHARS,
    QueryError,
    has_indexed_word,
    parse_date_bound,
    parse_query,
)


def test_words_phrases_exclusions_and_filters() -> None:
    query = parse_query(
        'diffusion "classifier-free guidance" -video -"text to speech" author:"Jonathan Ho" '
        "cat:cs.CV from:2022-01 to:2023"
    )
    assert query.words == ("diffusion",)
    assert query.phrases == ("classifier-free guidance",)
    assert query.excluded == ("video", "text to speech")
    assert query.filters.authors == ("Jonathan Ho",)
    assert query.filters.categories == ("cs.CV",)
    assert query.filters.published_from == datetime(2022, 1, 1, tzinfo=UTC)
    assert query.filters.published_until == datetime(2024, 1, 1, tzinfo=UTC)  # all of 2023
    assert query.semantic_text == "classifier-free guidance diffusion"


def test_year_filter_and_day_bounds() -> None:
    query = parse_query("transformers year:2021")
    assert query.filters.published_from == datetime(2021, 1, 1, tzinfo=UTC)
    assert query.filters.published_until == datetime(2022, 1, 1, tzinfo=UTC)
    day = parse_query("x to:2024-02-29").filters
    assert day.published_until == datetime(2024, 3, 1, tzinfo=UTC)


def test_hyphenated_words_and_unknown_prefixes_stay_text() -> None:
    query = parse_query("state-of-the-art t-SNE CUDA:kernels")
    assert query.words == ("state-of-the-art", "t-SNE", "CUDA:kernels")
    assert not query.excluded


def test_unicode_and_latex_are_kept_as_text() -> None:
    query = parse_query(r"Schrödinger $\Lambda_{\alpha}$ équation")
    assert query.words == ("Schrödinger", r"$\Lambda_{\alpha}$", "équation")


def test_unclosed_quote_runs_to_the_end() -> None:
    assert parse_query('"neural radiance fields').phrases == ("neural radiance fields",)


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_query_is_rejected(text: str) -> None:
    with pytest.raises(QueryError) as error:
        parse_query(text)
    assert str(error.value) == EMPTY_QUERY


# Each of these matched every paper: the index finds no word in them.
@pytest.mark.parametrize(
    "text",
    [
        "$",
        "---",
        "- -",
        '""',
        '"$ %"',
        "$$ && ++",
        "…",
        "_",
        "-video",
        '-"text to speech"',
        "a" * 40,
    ],
)
def test_query_with_nothing_to_search_for_is_refused_like_an_empty_one(text: str) -> None:
    with pytest.raises(QueryError) as error:
        parse_query(text)
    assert str(error.value) == EMPTY_QUERY


@pytest.mark.parametrize(
    "text",
    ["author:hinton", "cat:cs.LG", "year:2021", "from:2024-05", "$ x", "C++", "日本語", "a" * 39],
)
def test_a_word_or_a_filter_is_enough(text: str) -> None:
    parse_query(text)


def test_an_author_filter_needs_a_name() -> None:
    with pytest.raises(QueryError, match="^author: '\\$' has no name"):
        parse_query("graph author:$")


@pytest.mark.parametrize(
    "text",
    ["$", "---", "a_b", "x", "é", "日本語", "∂ψ/∂t", "a" * 39, "a" * 40, "é" * 20, "é" * 19, "1½"],
)
def test_searchable_words_are_what_the_index_finds(text: str) -> None:
    for analyzer in (text_analyzer(), words_analyzer()):
        assert has_indexed_word(text) == bool(analyzer.analyze(text)), text
    # Free words drop stop words, and fall back to all of them (a query of "the" is kept).
    assert not query_word_analyzer().analyze("the") and text_analyzer().analyze("the")


def test_ten_thousand_characters_are_rejected_with_the_limit() -> None:
    with pytest.raises(QueryError) as error:
        parse_query("a" * 10_000)
    assert "10,000 characters" in str(error.value)
    assert f"{MAX_QUERY_CHARS:,}" in str(error.value)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("from:9999-12-31", "from"),
        ("from:0001-01-01", "from"),
        ("to:9999-12", "to"),
        ("until:9999-12-31", "to"),
        ("year:9999", "year"),
        ("since:0000", "from"),
    ],
)
def test_dates_out_of_range_name_the_filter(text: str, name: str) -> None:
    # They crashed with OverflowError (a 500 on the site, a traceback in the CLI).
    with pytest.raises(QueryError) as error:
        parse_query(f"graph {text}")
    message = str(error.value)
    assert message.startswith(f"{name}: ") and "year from 2 to 9998" in message


def test_the_first_and_last_years_allowed_are_usable_bounds() -> None:
    assert parse_date_bound("9998-12-31", end=True, name="until") == datetime(
        9999, 1, 1, tzinfo=UTC
    )
    assert parse_date_bound("0002", end=False, name="from") == datetime(2, 1, 1, tzinfo=UTC)
    with pytest.raises(QueryError, match="^until: '9999-12' is out of range"):
        parse_date_bound("9999-12", end=True, name="until")


@pytest.mark.parametrize("text", ["from:2024-13", "to:yesterday", "year:20x1", "author:"])
def test_malformed_filters_name_the_filter(text: str) -> None:
    with pytest.raises(QueryError) as error:
        parse_query(f"graphs {text}")
    assert text.split(":")[0] in str(error.value)


def test_has_code_is_a_filter_and_an_unknown_has_names_itself() -> None:
    query = parse_query("diffusion has:code")
    assert query.words == ("diffusion",)
    assert query.filters.has_code and query.filters.active
    assert parse_query("has:CODE").filters.has_code  # a filter alone is a query
    with pytest.raises(QueryError, match="has: 'data' is not something to filter by"):
        parse_query("diffusion has:data")
