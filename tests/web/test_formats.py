"""Pure helpers of the site: comment Markdown, BibTeX, search highlighting."""

from __future__ import annotations

from datetime import UTC, datetime

from dailypapers.models import Paper
from dailypapers.search.highlight import highlight, highlight_pattern
from dailypapers.search.query import parse_query
from dailypapers.web.formats import bibtex_entry, bibtex_key
from dailypapers.web.markdown import render_markdown


def _paper(**fields: object) -> Paper:
    now = datetime(2024, 10, 22, tzinfo=UTC)
    values: dict[str, object] = {
        "paper_id": "2410.17243",
        "title": "Breaking the Memory Barrier: {Near} Infinite Batch Size",
        "abstract": "",
        "authors": ["Zesen Cheng", "Hang Zhang"],
        "author_count": 2,
        "categories": ["cs.CV", "cs.LG"],
        "versions": [],
        "published": now,
        "updated": None,
        "doi": None,
        "journal_ref": None,
        "comments": None,
        "license": None,
        "abs_url": None,
        "pdf_url": None,
        "code_url": None,
        "project_url": None,
        "sources": [],
        "upvotes": 0,
        "comment_count": 0,
        "daily_date": None,
        "submitted_by": None,
        "created_at": now,
        "modified_at": now,
    }
    values.update(fields)
    return Paper(**values)  # type: ignore[arg-type]


def test_markdown_keeps_formatting_and_drops_raw_html() -> None:
    html = render_markdown("**bold** and `code`\n\n<script>alert(1)</script><b onclick=x>hi</b>")
    assert "<strong>bold</strong>" in html and "<code>code</code>" in html
    assert "<script>" not in html and "<b onclick" not in html
    assert "&lt;script&gt;" in html


def test_markdown_links_are_safe() -> None:
    html = render_markdown("[ok](https://arxiv.org) [bad](javascript:alert(1)) ![img](x.png)")
    assert 'href="https://arxiv.org"' in html and 'rel="nofollow noopener noreferrer"' in html
    assert 'href="javascript' not in html and "<img" not in html


def test_bibtex_for_an_arxiv_paper() -> None:
    entry = bibtex_entry(_paper())
    assert entry.startswith("@misc{cheng2024breaking,")
    assert "eprint = {2410.17243}" in entry and "archivePrefix = {arXiv}" in entry
    assert "primaryClass = {cs.CV}" in entry
    assert "author = {Zesen Cheng and Hang Zhang}" in entry
    assert r"\{Near\}" in entry  # braces in a title cannot end the field early
    assert "url = {https://arxiv.org/abs/2410.17243}" in entry


def test_bibtex_with_a_journal_and_accented_author() -> None:
    paper = _paper(authors=["Élodie Müller"], journal_ref="Nature 1, 2 (2025)", doi="10.1/x")
    entry = bibtex_entry(paper)
    assert entry.startswith("@article{muller2024breaking,")
    assert "journal = {Nature 1, 2 (2025)}" in entry and "doi = {10.1/x}" in entry
    assert bibtex_key(_paper(authors=[], published=None, title="On")) == "anon"


def test_bibtex_without_author_names_has_no_empty_author_field() -> None:
    # A saved listing page gives only "11 authors": the names are not known.
    entry = bibtex_entry(_paper(paper_id="title:8cfbaa7953c706cd", authors=[], author_count=11))
    assert entry.startswith("@misc{anon2024breaking,")
    assert "author" not in entry and "eprint" not in entry


def test_highlight_marks_words_with_any_ending_and_escapes_the_rest() -> None:
    pattern = highlight_pattern(parse_query('diffusion models "guidance scale" -video'))
    text = "Diffusion <b>model</b> uses guidance scale; diffusing video"
    html = highlight(text, pattern)
    assert "<mark>Diffusion</mark>" in html and "<mark>model</mark>" in html
    assert "<mark>guidance scale</mark>" in html and "&lt;b&gt;" in html
    assert "<mark>video</mark>" not in html


def test_highlight_marks_what_the_search_matched_not_stop_words_or_shared_beginnings() -> None:
    marks = highlight_pattern(parse_query("how do I make video generation faster"))
    text = "However, domains like video generation are making models generate faster downstream"
    html = highlight(text, marks)
    assert html.count("<mark>") == 5  # video, generation, making, generate, faster
    for word in ("video", "generation", "making", "generate", "faster"):
        assert f"<mark>{word}</mark>" in html
    # "how" and "do" rank nothing; "general" only starts like "generation" (stem "generat").
    assert "However" in html and "domains" in html and "downstream" in html
    assert "<mark>general</mark>" not in highlight("general", marks)
    # Stems that end unlike the word: "studies" is "studi", and marks "study" too.
    assert highlight("a study", highlight_pattern(parse_query("studies"))) == "a <mark>study</mark>"
    # A query of stop words only is ranked by them, so they are marked.
    assert highlight("The Who", highlight_pattern(parse_query("the who"))) == (
        "<mark>The</mark> <mark>Who</mark>"
    )


def test_a_phrase_is_marked_only_as_written() -> None:
    marks = highlight_pattern(parse_query('"guidance scale"'))
    assert highlight("guidance scale", marks) == "<mark>guidance scale</mark>"
    assert "<mark>" not in highlight("guidance scales", marks)


def test_highlight_without_words_only_escapes() -> None:
    assert (
        highlight("<i>x</i>", highlight_pattern(parse_query("author:ho"))) == "&lt;i&gt;x&lt;/i&gt;"
    )
