"""Data for the compatibility, feed and server-process tests: the seeded site plus the real
Hugging Face daily-papers sample, and a paper whose text would break a careless XML writer;
and `announced`, which reads the alternate links a page declares.

Papers go in through the real importer (an HF `daily_papers` JSON file) and the keyword index
is synced, exactly as `dailypapers import` does it.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from dailypapers.index.build import sync_keyword_index
from dailypapers.store.engine import open_store
from tests.search.conftest import import_files
from tests.web.conftest import site_settings

HF_SAMPLE = Path("hf-daily-papers") / "daily_papers-2024-10-25.first4.json"
HF_DAY = date(2024, 10, 25)

# A made-up arXiv id on the day before the sample, in the same ISO week and month. Its text
# has what real abstracts carry: `<` and `&`, a form feed and a backspace (a JSON writer that
# did not escape the backslash of `\frac` and `\beta`), an ANSI escape, and `]]>`.
AWKWARD_ID = "2410.99901"
AWKWARD_DAY = date(2024, 10, 24)
AWKWARD_TITLE = 'Q&A over <table> data when x < y: the \x08eta-VAE "fails" & recovers'
AWKWARD_ABSTRACT = (
    "We make <b>bold</b> claims & test them with \x0crac{a}{b} and \x08eta < 1. "
    "A stray terminal escape \x1b[0m and a CDATA end ]]> do not end the summary </summary>."
)
AWKWARD_AUTHORS = ("Zoë Ørsted", 'A. "Quote" & Sons')
AWKWARD_SUBMITTER = "xml-tester"


def hf_sample(shared_data: Path) -> list[dict[str, Any]]:
    """The recorded /api/daily_papers items of 2024-10-25, verbatim."""
    items: list[dict[str, Any]] = json.loads((shared_data / HF_SAMPLE).read_text("utf-8"))
    return items


def daily_item(
    *,
    paper_id: str,
    title: str,
    abstract: str,
    authors: tuple[str, ...],
    published_at: datetime,
    listed_at: datetime,
    upvotes: int,
    submitter: str,
) -> dict[str, Any]:
    """One item in the shape of Hugging Face's /api/daily_papers response."""
    stamp = "%Y-%m-%dT%H:%M:%S.000Z"
    return {
        "paper": {
            "id": paper_id,
            "authors": [{"name": name, "hidden": False} for name in authors],
            "publishedAt": published_at.strftime(stamp),
            "title": title,
            "summary": abstract,
            "upvotes": upvotes,
        },
        "publishedAt": listed_at.strftime(stamp),
        "title": title,
        "numComments": 0,
        "submittedBy": {"name": submitter, "fullname": submitter, "type": "user"},
    }


def awkward_item() -> dict[str, Any]:
    return daily_item(
        paper_id=AWKWARD_ID,
        title=AWKWARD_TITLE,
        abstract=AWKWARD_ABSTRACT,
        authors=AWKWARD_AUTHORS,
        published_at=datetime(2024, 10, 24, 20, 0),
        listed_at=datetime(2024, 10, 24, 22, 0),
        upvotes=7,
        submitter=AWKWARD_SUBMITTER,
    )


def write_items(path: Path, items: list[dict[str, Any]]) -> Path:
    """Write items as a daily_papers JSON file (json.dumps escapes control characters)."""
    path.write_text(json.dumps(items), encoding="utf-8")
    return path


def add_papers(home: Path, files: list[Path]) -> None:
    """Import files into the site at `home` and make them keyword-searchable."""
    settings = site_settings(home)
    engine = open_store(settings)
    try:
        import_files(engine, files)
        sync_keyword_index(engine, settings)
    finally:
        engine.dispose()


def compat_home(seeded_home: Path, shared_data: Path, directory: Path) -> Path:
    """A copy of the seeded site with the Hugging Face sample and the awkward paper added."""
    home = directory / "home"
    shutil.copytree(seeded_home, home)
    awkward = write_items(directory / "awkward.json", [awkward_item()])
    add_papers(home, [shared_data / HF_SAMPLE, awkward])
    return home


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "link":
            self.links.append({name: value or "" for name, value in attrs})


def announced(html: str, media_type: str) -> str:
    """The href of the page's one `<link rel="alternate" type=media_type>`."""
    parser = _Links()
    parser.feed(html)
    hrefs = [
        link["href"]
        for link in parser.links
        if link.get("rel") == "alternate" and link.get("type") == media_type
    ]
    assert len(hrefs) == 1, f"expected one {media_type} alternate link, found {hrefs}"
    return hrefs[0]
