"""The parts of a paper card built in Python: a list page holds 30 cards, and as Jinja macros
these parts cost more than the rest of the page (a macro call is tens of microseconds).
Each returns escaped HTML; every link from data goes through `ids.http_url`."""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from typing import Protocol

from markupsafe import Markup, escape

from dailypapers.ids import author_key, author_slug, http_url, is_arxiv_category
from dailypapers.latex import latex_to_html

CARD_AUTHORS = 3
# Cards repeat across pages (a day's list, its week and month, trending, search), so their
# pure parts are kept per worker: an abstract is about 1.5 KB of HTML, so 4,096 are ~6 MB.
TEASER_CACHE = 4096


class LinksLike(Protocol):
    abs: str | None
    pdf: str | None
    code: str | None
    project: str | None


class PaperLike(Protocol):
    url: str
    authors: list[str]
    author_count: int
    categories: list[str]
    links: LinksLike


@functools.lru_cache(maxsize=65_536)
def _author(name: str) -> str:
    slug = author_slug(name)
    text = escape(name)
    return f'<a href="/authors/{escape(slug)}">{text}</a>' if slug else str(text)


def author_link(name: str) -> Markup:
    """An author's name linking to their page (as text when it has no letters to match)."""
    return Markup(_author(name))


def byline(paper: PaperLike, featured: Collection[str] = (), limit: int = CARD_AUTHORS) -> Markup:
    """The first `limit` authors, linked, then "+N" for the rest ("11 authors" when a source
    gave only the count). Authors further down whose key (ids.author_key) is in `featured`,
    the ones a reader follows, are shown after an ellipsis instead of counted in "+N"."""
    later: tuple[str, ...] = ()
    if featured and len(paper.authors) > limit:
        later = tuple(a for a in paper.authors[limit:] if author_key(a) in featured)
    gap = tuple(paper.authors[limit : limit + len(later)]) != later  # anyone skipped?
    return _byline(tuple(paper.authors[:limit]), later, gap, paper.author_count, paper.url)


@functools.lru_cache(maxsize=16_384)
def _byline(
    shown: tuple[str, ...], later: tuple[str, ...], gap: bool, count: int, url: str
) -> Markup:
    more = count - len(shown) - len(later)
    if not shown:
        return Markup(f"{more} authors" if more > 0 else "")
    html = ", ".join(_author(name) for name in shown)
    if later:
        html += (", …, " if gap else ", ") + ", ".join(_author(name) for name in later)
    if more > 0:
        html += (
            f' <a class="more-authors" href="{escape(url)}#authors"'
            f' aria-label="and {more} more {"author" if more == 1 else "authors"}">+{more}</a>'
        )
    return Markup(html)


def _category(code: str) -> str:
    text = escape(code)
    if is_arxiv_category(code):
        return f'<a class="tag" href="/categories/{text}">{text}</a>'
    return f'<span class="tag">{text}</span>'


def category_tags(codes: Sequence[str]) -> Markup:
    """Categories, each linking to its page when it is an arXiv code (other labels have none)."""
    return _category_tags(tuple(codes))


@functools.lru_cache(maxsize=4096)
def _category_tags(codes: tuple[str, ...]) -> Markup:
    return Markup("".join(_category(code) for code in codes))


def _data_link(url: str | None, label: str) -> str:
    href = http_url(url)
    return f'<a href="{escape(href)}" rel="noopener">{label}</a>' if href else ""


def _code_link(url: str | None) -> str:
    href = http_url(url)
    if href is None:
        return ""
    label = "Hugging Face" if "huggingface.co/" in href else "Code"
    title = escape(href.split("://", 1)[1])
    return f'<a href="{escape(href)}" rel="noopener" class="code-link" title="{title}">{label}</a>'


def code_link(url: str | None) -> Markup:
    """The code link, named for what it is: a repository, or a model or Space on Hugging Face;
    its address (without the scheme) as its title."""
    return Markup(_code_link(url))


def paper_links(paper: PaperLike) -> Markup:
    """arXiv, PDF, code and project links, those that are http(s)."""
    links = paper.links
    return _paper_links(links.abs, links.pdf, links.code, links.project)


@functools.lru_cache(maxsize=16_384)
def _paper_links(
    abs_url: str | None, pdf_url: str | None, code_url: str | None, project_url: str | None
) -> Markup:
    parts = (
        _data_link(abs_url, "arXiv"),
        _data_link(pdf_url, "PDF"),
        _code_link(code_url),
        _data_link(project_url, "Project"),
    )
    return Markup("\n".join(part for part in parts if part))


@functools.lru_cache(maxsize=TEASER_CACHE)
def teaser(abstract: str) -> Markup:
    """An abstract as a card shows it: LaTeX as text and markup, without links (a card's
    abstract sits inside the element that opens it)."""
    return Markup(latex_to_html(abstract, links=False))  # escaped by latex_to_html
