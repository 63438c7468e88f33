"""A collection's papers as files reference managers read: BibTeX, CSV and RIS. Pure."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Literal

from dailypapers.ids import arxiv_abs_url, http_url, is_arxiv
from dailypapers.models import Paper
from dailypapers.store.collections import CollectionItem
from dailypapers.web.formats import bibtex_entry

ExportFormat = Literal["bib", "csv", "ris"]
MEDIA_TYPES: dict[ExportFormat, str] = {
    "bib": "application/x-bibtex; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "ris": "application/x-research-info-systems; charset=utf-8",
}
CSV_COLUMNS = (
    "position",
    "id",
    "title",
    "authors",
    "year",
    "arxiv_id",
    "doi",
    "url",
    "categories",
    "note",
    "added_at",
)
# A cell that starts with one of these is a formula to a spreadsheet: quoted with a
# leading apostrophe so a title like "=HYPERLINK(...)" stays text (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _url(paper: Paper) -> str:
    arxiv = is_arxiv(paper.paper_id)
    return http_url(paper.abs_url) or (arxiv_abs_url(paper.paper_id) if arxiv else "")


def export_bibtex(items: Sequence[CollectionItem]) -> str:
    """One entry per paper, in the collection's order; keys made unique with a, b, c."""
    seen: dict[str, int] = {}
    entries = []
    for item in items:
        entry = bibtex_entry(item.paper)
        key = entry[entry.index("{") + 1 : entry.index(",")]
        count = seen.get(key, 0)
        seen[key] = count + 1
        if count:
            suffix = chr(ord("a") + count - 1) if count <= 26 else str(count)
            entry = entry.replace(f"{{{key},", f"{{{key}{suffix},", 1)
        entries.append(entry)
    return "\n".join(entries)


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def export_csv(items: Sequence[CollectionItem]) -> str:
    """A header row then one row per paper (authors joined by "; ")."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for item in items:
        paper = item.paper
        row = [
            str(item.position),
            paper.paper_id,
            paper.title,
            "; ".join(paper.authors),
            str(paper.published.year) if paper.published else "",
            paper.paper_id if is_arxiv(paper.paper_id) else "",
            paper.doi or "",
            _url(paper),
            " ".join(paper.categories),
            item.note,
            item.added_at.isoformat(timespec="seconds"),
        ]
        writer.writerow([_cell(value) for value in row])
    return out.getvalue()


def _ris_value(value: str) -> str:
    return " ".join(value.split())


def export_ris(items: Sequence[CollectionItem]) -> str:
    """One RIS record per paper: a preprint (arXiv), else a journal article or a generic one."""
    records = []
    for item in items:
        paper = item.paper
        kind = "JOUR" if paper.journal_ref else ("PREPRINT" if is_arxiv(paper.paper_id) else "GEN")
        lines = [f"TY  - {kind}", f"TI  - {_ris_value(paper.title)}"]
        lines += [f"AU  - {_ris_value(name)}" for name in paper.authors]
        if paper.published:
            lines.append(f"PY  - {paper.published.year}")
            lines.append(f"DA  - {paper.published:%Y/%m/%d}/")
        if paper.abstract:
            lines.append(f"AB  - {_ris_value(paper.abstract)}")
        if paper.journal_ref:
            lines.append(f"JO  - {_ris_value(paper.journal_ref)}")
        if paper.doi:
            lines.append(f"DO  - {paper.doi}")
        if is_arxiv(paper.paper_id):
            lines.append(f"N1  - arXiv:{paper.paper_id}")
        if url := _url(paper):
            lines.append(f"UR  - {url}")
        if item.note:
            lines.append(f"N1  - {_ris_value(item.note)}")
        lines.append("ER  - ")
        records.append("\r\n".join(lines) + "\r\n")
    return "\r\n".join(records)


def export_collection(items: Sequence[CollectionItem], format: ExportFormat) -> str:
    writers = {"bib": export_bibtex, "csv": export_csv, "ris": export_ris}
    return writers[format](items)
