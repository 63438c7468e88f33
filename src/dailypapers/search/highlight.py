"""Marking the query's words in a title or abstract (pure; returns escaped HTML).

A word is marked when the search matched it: its stem (the index's own analysis: lowercase,
accents folded, English Snowball stem) is one of the terms the search ranks by
(`free_terms`), which leave out the query stop words ("how", "do", "I" rank nothing, so they
mark nothing, unless the query has nothing else). "generation" marks "generate" and
"generating", as the search finds them, but not "general"; "do" does not mark "domains".
Quoted phrases are marked as written (case and accents folded, not stemmed).
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from dataclasses import dataclass

import tantivy

from dailypapers.index.keyword import free_terms, query_word_analyzer, text_analyzer
from dailypapers.latex import escape_text, latex_to_html
from dailypapers.search.query import ParsedQuery

# A text word is a candidate when it starts with a term's first letters (all but the last
# two, at least three): the stem can end differently from the word ("studi", "happi"); each
# candidate is then stemmed to check.
PREFIX_SHORTER_BY = 2
MIN_PREFIX_CHARS = 3
_WORD = r"[^\W_]*"  # the rest of a word, as the index's tokenizer splits words
_per_thread = threading.local()


@dataclass(frozen=True, slots=True)
class Marks:
    """What to mark: the candidates' pattern and the query's terms (stems)."""

    pattern: re.Pattern[str]
    terms: frozenset[str]


def highlight_pattern(query: ParsedQuery) -> Marks | None:
    """What marks the query's words and phrases, or None if it has none."""
    query_words, text = _analyzers()
    terms = frozenset(free_terms(query.words, query_words, text))
    prefixes = {term[: max(MIN_PREFIX_CHARS, len(term) - PREFIX_SHORTER_BY)] for term in terms}
    # Accents are folded on both sides, as the index does: "grobner" marks "Gröbner".
    phrases = {re.escape(_folded(phrase)) for phrase in query.phrases if phrase}
    parts = []
    if phrases:
        alternatives = "|".join(sorted(phrases, key=len, reverse=True))
        parts.append(rf"(?P<phrase>{alternatives})(?![^\W_])")
    if prefixes:
        alternatives = "|".join(sorted(map(re.escape, prefixes), key=len, reverse=True))
        parts.append(rf"(?P<word>(?:{alternatives}){_WORD})")
    if not parts:
        return None
    return Marks(re.compile(rf"\b(?:{'|'.join(parts)})", re.IGNORECASE), terms)


def _analyzers() -> tuple[tantivy.TextAnalyzer, tantivy.TextAnalyzer]:
    """The index's query-word and text analyzers, a pair per thread (render threads mark
    pages at once)."""
    pair: tuple[tantivy.TextAnalyzer, tantivy.TextAnalyzer] | None = getattr(
        _per_thread, "analyzers", None
    )
    if pair is None:
        pair = _per_thread.analyzers = (query_word_analyzer(), text_analyzer())
    return pair


@functools.lru_cache(maxsize=65536)
def _stems(word: str) -> tuple[str, ...]:
    """A lowercased text word's stems as the index makes them (a folded word gives one)."""
    return tuple(_analyzers()[1].analyze(word))


@functools.lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    base = unicodedata.normalize("NFD", char)[0]
    return base if base.isascii() else char


def _folded(text: str) -> str:
    """`text` with accents dropped, one character for one (ö -> o), as the index folds them."""
    return text if text.isascii() else "".join(map(_fold_char, text))


def _marked(text: str, marks: Marks) -> str:
    out: list[str] = []
    last = 0
    for match in marks.pattern.finditer(_folded(text)):
        if match.lastgroup == "word" and marks.terms.isdisjoint(_stems(match.group().lower())):
            continue  # it only starts like a query term
        out.append(escape_text(text[last : match.start()]))
        out.append(f"<mark>{escape_text(text[match.start() : match.end()])}</mark>")
        last = match.end()
    out.append(escape_text(text[last:]))
    return "".join(out)


def highlight(text: str, marks: Marks | None) -> str:
    """`text` (a title or snippet, LaTeX shown as on the paper's page, without links) as HTML
    with every match in its words wrapped in <mark>, never inside math; the rest escaped."""
    if marks is None:
        return latex_to_html(text, links=False)
    return latex_to_html(text, links=False, text_html=lambda run: _marked(run, marks))
