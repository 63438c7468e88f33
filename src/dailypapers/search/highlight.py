"""Marking the query's words in a title or abstract (pure; returns escaped HTML)."""

from __future__ import annotations

import functools
import re
import unicodedata

from dailypapers.latex import escape_text, latex_to_html
from dailypapers.search.query import ParsedQuery

_SUFFIXES = ("ing", "ed", "es", "s")
MIN_STEM_CHARS = 3


def _stem(word: str) -> str:
    lowered = word.lower()
    for suffix in _SUFFIXES:
        if lowered.endswith(suffix) and len(lowered) - len(suffix) >= MIN_STEM_CHARS:
            return lowered[: -len(suffix)]
    return lowered


def highlight_pattern(query: ParsedQuery) -> re.Pattern[str] | None:
    """A pattern for the query's words (any ending) and phrases, or None if it has none."""
    # Accents are folded on both sides, as the index does: "grobner" marks "Gröbner".
    parts = {re.escape(_folded(_stem(w))) + r"\w*" for w in query.words if len(w) >= 2}
    parts |= {re.escape(_folded(phrase)) for phrase in query.phrases if phrase}
    if not parts:
        return None
    alternatives = "|".join(sorted(parts, key=len, reverse=True))
    return re.compile(rf"\b(?:{alternatives})", re.IGNORECASE)


@functools.lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    base = unicodedata.normalize("NFD", char)[0]
    return base if base.isascii() else char


def _folded(text: str) -> str:
    """`text` with accents dropped, one character for one (ö -> o), as the index folds them."""
    return text if text.isascii() else "".join(map(_fold_char, text))


def _marked(text: str, pattern: re.Pattern[str]) -> str:
    out: list[str] = []
    last = 0
    for match in pattern.finditer(_folded(text)):
        out.append(escape_text(text[last : match.start()]))
        out.append(f"<mark>{escape_text(text[match.start() : match.end()])}</mark>")
        last = match.end()
    out.append(escape_text(text[last:]))
    return "".join(out)


def highlight(text: str, pattern: re.Pattern[str] | None) -> str:
    """`text` (a title or snippet, LaTeX shown as on the paper's page, without links) as HTML
    with every match in its words wrapped in <mark>, never inside math; the rest escaped."""
    if pattern is None:
        return latex_to_html(text, links=False)
    return latex_to_html(text, links=False, text_html=lambda run: _marked(run, pattern))
