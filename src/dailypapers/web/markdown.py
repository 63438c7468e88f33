"""Comment Markdown to safe HTML: CommonMark without raw HTML, then an allow-list sanitiser."""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

MAX_COMMENT_CHARS = 10_000

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).disable("image")

_TAGS = {
    "p", "br", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "a", "hr",
    "h1", "h2", "h3", "h4", "h5", "h6",
}  # fmt: skip


def render_markdown(text: str) -> str:
    """HTML for a comment. Raw HTML in the text comes out as text; only safe links survive."""
    html = _markdown.render(text)
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )
