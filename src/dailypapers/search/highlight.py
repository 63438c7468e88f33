"""Marking the query's words in a title or abstract (pure; returns escaped HTML)."""

from __future__ import annotations

import re
from html import escape

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
    parts = {re.escape(_stem(w)) + r"\w*" for w in query.words if len(w) >= 2}
    parts |= {re.escape(phrase) for phrase in query.phrases if phrase}
    if not parts:
        return None
    alternatives = "|".join(sorted(parts, key=len, reverse=True))
    return re.compile(rf"\b(?:{alternatives})", re.IGNORECASE)


def highlight(text: str, pattern: re.Pattern[str] | None) -> str:
    """`text` as HTML with every match wrapped in <mark>; everything else escaped."""
    if pattern is None:
        return escape(text)
    out: list[str] = []
    last = 0
    for match in pattern.finditer(text):
        out.append(escape(text[last : match.start()]))
        out.append(f"<mark>{escape(match.group(0))}</mark>")
        last = match.end()
    out.append(escape(text[last:]))
    return "".join(out)
