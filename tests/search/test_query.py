"""Query parsing: words, phrases, exclusions, filters, and clear errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dailypapers.search.query import MAX_QUERY_CHARS, QueryError, parse_query


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
    with pytest.raises(QueryError, match="empty"):
        parse_query(text)


def test_ten_thousand_characters_are_rejected_with_the_limit() -> None:
    with pytest.raises(QueryError) as error:
        parse_query("a" * 10_000)
    assert "10,000 characters" in str(error.value)
    assert f"{MAX_QUERY_CHARS:,}" in str(error.value)


@pytest.mark.parametrize("text", ["from:2024-13", "to:yesterday", "year:20x1", "author:"])
def test_malformed_filters_name_the_filter(text: str) -> None:
    with pytest.raises(QueryError) as error:
        parse_query(f"graphs {text}")
    assert text.split(":")[0] in str(error.value)
