"""Code and project links that a paper's own text gives (pure).

arXiv carries no code field: authors write "Code: https://github.com/..." in the comments or
"Our code is available at https://github.com/..." in the abstract. Only what is written there
is taken, never a guess: a repository on github.com or gitlab.com, else a model, Space or
collection on huggingface.co (a dataset or a paper page there is not code), and a project page
only where the text labels it one ("Project page: https://...").
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit

from dailypapers.ids import http_url

CODE_HOSTS = ("github.com", "gitlab.com", "huggingface.co")
# Found by host in the lower-cased text (plain string search: a regex is ten times slower, and
# imports read millions of abstracts), then widened to the scheme before and the path after:
# up to a space, a quote, a bracket or a LaTeX brace (\href{url}{text}). The scheme may be
# missing ("Code will be at github.com/owner/repo"); https is then meant.
_PATH = re.compile(r"[^\s<>\"'{}\[\]()\\|^`$,;]*")
_SCHEMES = ("https://www.", "http://www.", "https://", "http://", "www.")
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_PROJECT_LINK = re.compile(
    r"project\s+(?:page|website|homepage|site)\s*(?:is\s+)?(?:at\s*)?[:\-]?\s*"
    r"(https?://[^\s<>\"'{}\[\]()\\|^`$,;]+)"
)
_TRAILING = ".:!?*'"
# First path segments that are the site's own pages, not a repository or model.
_NOT_REPOSITORY = {
    "github.com": {"about", "features", "topics", "sponsors", "marketplace", "settings", "login"},
    "gitlab.com": {"explore", "users", "help", "dashboard"},
    "huggingface.co": {"datasets", "papers", "blog", "docs", "learn", "join", "login", "posts"},
}
_CODE_WORDS = ("code", "implementation", "source")
_LABEL_WINDOW = 60


def _clean(raw: str) -> str | None:
    """The link without trailing punctuation or `.git`, with a scheme, if it names a repository
    (owner/name; for Hugging Face a model, `spaces/owner/name` or a collection)."""
    link = raw.rstrip(_TRAILING)
    link = link.removesuffix(".git").rstrip(_TRAILING)
    if not link.lower().startswith(("http://", "https://")):
        link = "https://" + link
    url = http_url(link)
    if url is None:
        return None
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    segments = [s for s in parts.path.split("/") if s]
    if host not in CODE_HOSTS or len(segments) < 2:
        return None
    if segments[0].lower() in _NOT_REPOSITORY[host]:
        return None
    if host == "huggingface.co" and segments[0] == "spaces" and len(segments) < 3:
        return None
    return url


def _lower(text: str) -> str:
    """`text` in lower case, letter for letter (positions stay those of `text`)."""
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


def _host_positions(low: str) -> list[tuple[int, int]]:
    """(start, end) of each "host/" in the lower-cased text, in order."""
    found = []
    for host in CODE_HOSTS:
        at = low.find(host + "/")
        while at != -1:
            found.append((at, at + len(host) + 1))
            at = low.find(host + "/", at + 1)
    return sorted(found)


def _links(text: str, low: str) -> Iterator[tuple[int, str]]:
    """(start, link as written) for each link to a code host in `text`."""
    for host_start, host_end in _host_positions(low):
        start = host_start
        for scheme in _SCHEMES:
            if start >= len(scheme) and low.startswith(scheme, start - len(scheme)):
                start -= len(scheme)
                break
        # Part of a longer name (someone.github.com, user@github.com) is not this host.
        if start > 0 and (text[start - 1].isalnum() or text[start - 1] in "@./-_"):
            continue
        path = _PATH.match(text, host_end)
        yield start, text[start : path.end() if path else host_end]


def _candidates(text: str) -> list[tuple[bool, bool, str]]:
    """(is a repository host, labelled as code, link) for each link in `text`, in order."""
    found: list[tuple[bool, bool, str]] = []
    low = _lower(text)
    for start, raw in _links(text, low):
        link = _clean(raw)
        if link is None:
            continue
        before = low[max(0, start - _LABEL_WINDOW) : start]
        labelled = any(word in before for word in _CODE_WORDS)
        found.append(("huggingface.co" not in link.lower(), labelled, link))
    return found


def find_code_url(texts: Iterable[str | None]) -> str | None:
    """The code link the texts give (comments first, then the abstract), or None.

    A GitHub or GitLab repository is preferred to a Hugging Face model or Space; among those,
    the first one the text introduces as code ("Code:", "our implementation"), else the first.
    """
    found = [c for text in texts if text for c in _candidates(text)]
    if not found:
        return None
    best_tier = max(repository for repository, _, _ in found)
    tier = [(labelled, link) for repository, labelled, link in found if repository == best_tier]
    labelled = [link for is_labelled, link in tier if is_labelled]
    return (labelled or [tier[0][1]])[0]


def find_project_url(texts: Iterable[str | None]) -> str | None:
    """A link the texts label as the project's page ("Project page: https://..."), or None."""
    for text in texts:
        if not text:
            continue
        low = _lower(text)
        if "project" not in low:
            continue
        for match in _PROJECT_LINK.finditer(low):
            url = http_url(text[match.start(1) : match.end(1)].rstrip(_TRAILING))
            if url is not None and urlsplit(url).hostname:
                return url
    return None
