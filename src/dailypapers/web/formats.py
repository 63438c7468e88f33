"""Paper export formats: BibTeX. Pure."""

from __future__ import annotations

import re
import unicodedata

from dailypapers.ids import arxiv_abs_url, http_url, is_arxiv
from dailypapers.models import Paper

_BRACES = str.maketrans({"{": r"\{", "}": r"\}"})


def _ascii_word(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]", "", folded)


def bibtex_key(paper: Paper) -> str:
    """first-author surname + year + first title word, e.g. `cheng2024breaking`."""
    surname = _ascii_word(paper.authors[0].split()[-1]).lower() if paper.authors else "anon"
    year = str(paper.published.year) if paper.published else ""
    words = [w for w in (_ascii_word(w).lower() for w in paper.title.split()) if len(w) > 3]
    return f"{surname or 'anon'}{year}{words[0] if words else ''}"


def _field(value: str) -> str:
    # Braces in the text would end the field early; newlines break some BibTeX readers.
    return " ".join(value.translate(_BRACES).split())


def bibtex_entry(paper: Paper) -> str:
    """A BibTeX @misc (arXiv's own style) or @article (when there is a journal reference)."""
    fields: list[tuple[str, str]] = [("title", "{" + _field(paper.title) + "}")]
    if paper.authors:  # unknown (a saved listing gives only a count): no empty field
        fields.append(("author", _field(" and ".join(paper.authors))))
    if paper.published:
        fields.append(("year", str(paper.published.year)))
    arxiv = is_arxiv(paper.paper_id)
    if arxiv:
        fields += [("eprint", paper.paper_id), ("archivePrefix", "arXiv")]
        if paper.primary_category:
            fields.append(("primaryClass", paper.primary_category))
    if paper.doi:
        fields.append(("doi", _field(paper.doi)))
    if paper.journal_ref:
        fields.append(("journal", _field(paper.journal_ref)))
    url = http_url(paper.abs_url) or (arxiv_abs_url(paper.paper_id) if arxiv else None)
    if url:
        fields.append(("url", _field(url)))
    kind = "article" if paper.journal_ref else "misc"
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@{kind}{{{bibtex_key(paper)},\n{body}\n}}\n"
