"""Size limits for one paper record: longer is refused with a reason, never silently cut."""

from __future__ import annotations

from dailypapers.models import PaperRecord

MAX_TITLE_CHARS = 2_000
MAX_ABSTRACT_CHARS = 100_000
MAX_AUTHORS = 10_000


def limit_problem(record: PaperRecord) -> str | None:
    """Why `record` breaks a size limit (absurd titles, abstracts, author lists), or None."""
    if len(record.title) > MAX_TITLE_CHARS:
        return f"title is {len(record.title):,} characters (limit {MAX_TITLE_CHARS:,})"
    if record.abstract is not None and len(record.abstract) > MAX_ABSTRACT_CHARS:
        return f"abstract is {len(record.abstract):,} characters (limit {MAX_ABSTRACT_CHARS:,})"
    count = max(len(record.authors), record.author_count or 0)
    if count > MAX_AUTHORS:
        return f"more than {MAX_AUTHORS:,} authors ({count:,})"
    return None
