"""Identifier and title normalisation used for deduplication. Pure functions."""

from __future__ import annotations

import functools
import re
import unicodedata
from urllib.parse import urlsplit

# New-style ids (0704.0001 onwards, 5 digits after the dot since 1501) and old-style
# archive/YYMMNNN ids, optionally with a subject class (math.GT/0309136) and a version.
_NEW_ID = re.compile(r"(?P<id>\d{4}\.\d{4,5})(?:v(?P<v>\d+))?", re.ASCII)
_OLD_ID = re.compile(
    r"(?P<id>[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(?:v(?P<v>\d+))?",
    re.ASCII,
)
_PREFIXES = re.compile(
    r"^(?:https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/|arxiv:|oai:arxiv\.org:)",
    re.IGNORECASE,
)
_DOI = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:)?(10\.\d{4,9}/\S+)$", re.IGNORECASE)


def split_arxiv_id(raw: str) -> tuple[str, int | None] | None:
    """Return (id without version, version) for anything that names an arXiv paper, else None.

    Accepts bare ids, `arXiv:` prefixes, abs/pdf URLs and OAI identifiers; old-style ids keep
    their archive (`astro-ph/0601001`); a subject class in old ids (`math.GT/0309136`) is dropped.
    """
    text = _PREFIXES.sub("", raw.strip())
    text = text.removesuffix(".pdf").rstrip("/")
    for pattern in (_NEW_ID, _OLD_ID):
        match = pattern.fullmatch(text)
        if match:
            paper_id = match["id"]
            if "/" in paper_id:
                archive, number = paper_id.split("/")
                paper_id = f"{archive.split('.')[0]}/{number}"
            version = int(match["v"]) if match["v"] else None
            return paper_id, version
    return None


def normalize_arxiv_id(raw: str) -> str | None:
    """The arXiv id without version (`2104.12255`, `astro-ph/0601001`), or None."""
    parsed = split_arxiv_id(raw)
    return parsed[0] if parsed else None


def is_arxiv(paper_id: str) -> bool:
    """True for an id in the stored arXiv form (no version, no prefix)."""
    return normalize_arxiv_id(paper_id) == paper_id


def arxiv_abs_url(paper_id: str) -> str:
    """The abstract page of a stored arXiv id."""
    return f"https://arxiv.org/abs/{paper_id}"


def arxiv_pdf_url(paper_id: str) -> str:
    """The PDF of a stored arXiv id (its latest version)."""
    return f"https://arxiv.org/pdf/{paper_id}"


def http_url(value: str | None) -> str | None:
    """`value` without surrounding spaces if it is an absolute http(s) URL with a host, else None.

    Links from any source pass through here before they are stored or shown: `javascript:`,
    `data:`, relative and scheme-less links are refused.
    """
    if value is None:
        return None
    url = value.strip()
    if not url[:8].lower().startswith(("http://", "https://")):
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:  # a malformed IPv6 host or port
        return None
    return url if host else None


def normalize_doi(raw: str) -> str | None:
    """A DOI in lower case without resolver prefix, or None if `raw` is not a DOI."""
    match = _DOI.match(raw.strip())
    return match.group(1).lower() if match else None


_WORD = re.compile(r"\w+")


@functools.lru_cache(maxsize=16_384)
def normalize_title(title: str) -> str:
    """A matching key for titles: accents, case, punctuation and spacing removed."""
    if not title.isascii():
        # Only non-ASCII titles pay for decomposition (imports call this millions of times).
        decomposed = unicodedata.normalize("NFKD", title)
        title = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_WORD.findall(title.casefold()))


def clean_text(value: str | None) -> str | None:
    """Collapse runs of whitespace (hard line wraps, re-indented XML) to single spaces."""
    if value is None:
        return None
    collapsed = " ".join(value.split())
    return collapsed or None


# arXiv category codes: an archive (`hep-th`, `cs`) and optionally a subject class (`cs.LG`,
# `astro-ph.CO`, `math-ph`). MSC/ACM classes ("68T05, 62R07", "I.2; H.3") do not match.
_ARXIV_CATEGORY = re.compile(r"[a-z]+(?:-[a-z]+)?(?:\.[A-Za-z]{2,})?", re.ASCII)


def is_arxiv_category(value: str) -> bool:
    """True for an arXiv category code such as `cs.LG`, `hep-th` or `astro-ph.CO`."""
    return _ARXIV_CATEGORY.fullmatch(value) is not None


# A longer "name" is not a person's (a collaboration's member list run together); its key is cut.
MAX_AUTHOR_KEY_CHARS = 300
_NAME_WORD = re.compile(r"[^\W_]+")
# Letters NFKD leaves whole (they are not a base letter plus a mark) but readers treat as
# spellings of plain ones: "Søren Łukasz" and "Soren Lukasz" are one name.
_LETTER_FOLDS = str.maketrans(
    {"ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe", "ı": "i"}
)


@functools.lru_cache(maxsize=65_536)
def author_key(name: str) -> str:
    """The matching key of an author's name: accents and case folded, punctuation dropped.

    "José García-López" and "jose garcia lopez" share a key; "A. Smith" ("a smith") and
    "Alice Smith" ("alice smith") do not: initials are never expanded (see docs/web.md for
    how pages link such names). Empty when the name has no letters or digits.
    """
    text = name.casefold()
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        text = text.translate(_LETTER_FOLDS)
    return " ".join(_NAME_WORD.findall(text))[:MAX_AUTHOR_KEY_CHARS].rstrip()


def author_slug(name: str) -> str:
    """The path segment of an author's page (`/authors/alice-smith`): the key, hyphenated.

    `author_key` of a slug is the key again, so a page accepts the slug or the name as written.
    """
    return author_key(name).replace(" ", "-")


def same_person_possible(key: str, other: str) -> bool:
    """True when two author keys may name one person written two ways: the same surname
    (last word) and given names that agree where both are spelled out, one of them given by
    an initial ("a smith" and "alice smith"; not "alice smith" and "alicia smith")."""
    words, other_words = key.split(), other.split()
    if key == other or not words or not other_words or words[-1] != other_words[-1]:
        return False
    given, other_given = words[:-1], other_words[:-1]
    if not given or not other_given:
        return False
    initials = False
    for mine, theirs in zip(given, other_given, strict=False):
        if mine == theirs:
            continue
        short, long = sorted((mine, theirs), key=len)
        if len(short) != 1 or not long.startswith(short):
            return False
        initials = True
    return initials or len(given) != len(other_given)
