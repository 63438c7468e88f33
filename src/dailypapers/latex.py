"""Text-mode LaTeX in titles and abstracts, for reading and for the search index. Pure.

Sources give titles and abstracts as their authors typed them: `\\emph{...}`, `\\textbf{...}`,
accents (`\\"o`), `\\url{...}`, `\\cite{...}`, ties (`Fig.~2`), dashes (`--`). The store keeps that
text as imported; `latex_to_text` turns it into plain text (keyword index, feeds, emails) and
`latex_to_html` into escaped HTML with <em>, <strong>, <code> and http(s) links (pages). Math
(`$...$`, `$$...$$`, `\\(...\\)`, `\\[...\\]`) is kept exactly as typed, for KaTeX. A macro this
module does not know becomes its argument (`\\mymacro{x}` -> x) or its name (`\\ours` -> ours).

Most titles and abstracts hold no LaTeX at all: they are returned (escaped) after one search.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from dailypapers.ids import http_url

# Text that needs no conversion has none of these (checked with `in`: one regex search
# with alternatives cost ten times more).
_SIGNS = ("\\", "{", "}", "~", "--", "``", "''")

# One token of text mode: `plain` runs to the next character that may start another token.
_TOKEN = re.compile(
    r"(?P<math>\$\$?|\\[(\[])"
    r"|(?P<word>\\[A-Za-z]+\*?)"
    r"|(?P<symbol>\\.)"
    r"|(?P<open>\{)|(?P<close>\})"
    r"|(?P<tie>~)"
    r"|(?P<plain>[^\\{}$~]+|.)",
    re.DOTALL,
)
# Dashes and quotes inside plain text.
_TYPOGRAPHY = re.compile(r"---?|``|''")
_MATH_END = {"$$": "$$", "$": "$", "\\(": "\\)", "\\[": "\\]"}
_MATH_STOP = re.compile(r"[\\{}$]")
_URL_ESCAPE = re.compile(r"\\(.)")
_OPTIONAL_ARG = re.compile(r"\[[^\]\[{}]*\]")
_CHAR_CODE = re.compile(r"\"([0-9A-Fa-f]+)|'([0-7]+)|`\\?(.)|(\d+)")

# Letters and symbols written as macros; the letters also eat one following space (`M\o ller`).
_LETTERS = {
    "ss": "ß", "o": "ø", "O": "Ø", "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ", "aa": "å",
    "AA": "Å", "l": "ł", "L": "Ł", "i": "ı", "j": "ȷ", "dh": "ð", "DH": "Ð", "th": "þ",
    "TH": "Þ", "ng": "ŋ", "NG": "Ŋ",
}  # fmt: skip
_GREEK = (
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho"
    " sigma tau upsilon phi chi psi omega"
)
_SYMBOLS = {
    **{name: chr(0x3B1 + n + (n > 16)) for n, name in enumerate(_GREEK.split())},
    **{name.capitalize(): chr(0x391 + n + (n > 16)) for n, name in enumerate(_GREEK.split())},
    "varepsilon": "ε", "vartheta": "ϑ", "varphi": "φ", "varpi": "ϖ", "varrho": "ϱ",
    "varsigma": "ς", "ell": "ℓ", "times": "×", "pm": "±", "mp": "∓", "cdot": "·", "div": "÷",
    "sim": "~", "approx": "≈", "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥", "neq": "≠",
    "ne": "≠", "ll": "≪", "gg": "≫", "to": "→", "rightarrow": "→", "leftarrow": "←",
    "Rightarrow": "⇒", "Leftarrow": "⇐", "leftrightarrow": "↔", "Leftrightarrow": "⇔",
    "uparrow": "↑", "downarrow": "↓", "infty": "∞", "in": "∈", "notin": "∉",
    "subset": "⊂", "subseteq": "⊆", "cup": "∪", "cap": "∩", "forall": "∀", "exists": "∃",
    "neg": "¬", "wedge": "∧", "vee": "∨", "partial": "∂", "nabla": "∇", "sum": "∑",
    "prod": "∏", "int": "∫", "star": "⋆", "ast": "∗", "circ": "∘", "bullet": "•",
    "dagger": "†", "dag": "†", "ddagger": "‡", "ddag": "‡", "checkmark": "✓", "S": "§",
    "P": "¶", "copyright": "©", "textcopyright": "©", "textregistered": "®",
    "texttrademark": "™", "pounds": "£", "euro": "€", "deg": "°", "degree": "°",
    "textdegree": "°", "ldots": "…", "dots": "…", "cdots": "⋯", "textellipsis": "…",
    "textendash": "–", "textemdash": "—", "textasciitilde": "~", "textasciicircum": "^",
    "textbackslash": "\\", "textunderscore": "_", "textbar": "|", "textless": "<",
    "textgreater": ">", "textquotedblleft": "“", "textquotedblright": "”",
    "textquoteleft": "‘", "textquoteright": "’", "textbullet": "•", "quad": " ",
    "qquad": " ", "newline": " ", "par": " ", "linebreak": " ", "item": "•",
    # Abbreviations that conference styles (cvpr.sty) define as macros.
    "eg": "e.g.", "ie": "i.e.", "etal": "et al.", "wrt": "w.r.t.", "vs": "vs.", "cf": "cf.",
    "etc": "etc.", "aka": "a.k.a.",
}  # fmt: skip
# Commands that style their argument, and declarations that style the rest of their group.
_STYLES = {
    "emph": "em", "textit": "em", "textsl": "em", "textbf": "strong", "texttt": "code",
    "textsuperscript": "sup", "textsubscript": "sub",
}  # fmt: skip
_DECLARATIONS = {
    "em": "em", "it": "em", "itshape": "em", "sl": "em", "slshape": "em", "bf": "strong",
    "bfseries": "strong", "tt": "code", "ttfamily": "code",
}  # fmt: skip
# Commands that only change the look (size, font, spacing): nothing to show.
_IGNORED = frozenset(
    "rm sf sc scshape rmfamily sffamily upshape mdseries normalfont tiny scriptsize"
    " footnotesize small normalsize large Large LARGE huge Huge noindent centering raggedright"
    " relax protect nobreak xspace ignorespaces unskip maketitle hfill vfill smallskip medskip"
    " bigskip hline boldmath unboldmath".split()
)
# Commands with arguments that are not text (colours, labels, languages): how many to drop,
# and whether a text argument follows them.
_DROPPED_ARGS = {
    "label": (1, False), "vspace": (1, False), "hspace": (1, False), "index": (1, False),
    "nocite": (1, False), "color": (1, False), "begin": (1, False), "end": (1, False),
    "bibliographystyle": (1, False), "bibliography": (1, False), "textcolor": (1, True),
    "colorbox": (1, True), "fcolorbox": (2, True), "foreignlanguage": (1, True),
    "hyperlink": (1, True), "hypertarget": (1, True),
}  # fmt: skip
_CITES = frozenset(
    "cite citep citet citealp citealt citeauthor citeyear parencite textcite autocite"
    " footcite".split()
)
_REFS = frozenset("ref eqref autoref cref Cref pageref nameref".split())
_FOOTNOTES = frozenset(("footnote", "thanks"))
# Accents by combining character: symbols take the next letter (`\"o`), letters need a group.
_SYMBOL_ACCENTS = {
    "'": "\u0301", "`": "\u0300", "^": "\u0302", '"': "\u0308", "~": "\u0303", "=": "\u0304",
    ".": "\u0307",
}  # fmt: skip
_LETTER_ACCENTS = {
    "c": "\u0327", "v": "\u030c", "H": "\u030b", "u": "\u0306", "k": "\u0328", "r": "\u030a",
    "b": "\u0331", "d": "\u0323", "t": "\u0361",
}  # fmt: skip
_SYMBOL_TEXT = {
    "\\": " ", " ": " ", ",": " ", ";": " ", ":": " ", ">": " ", "!": "", "-": "", "/": "",
    "@": "",
}  # fmt: skip
# Programming escapes in abstracts about code ("\n\n" tokens) stay as written.
_LITERAL_ESCAPES = frozenset(("n", "t", "r"))
# Nesting deeper than this ({{{...}}}, \em\em\em...) is read as text: untrusted input must
# not exhaust the stack.
MAX_DEPTH = 40
# Untrusted text must not make conversion slow: a formula is at most this long, each `$`
# without a closing one costs a scan that far, and after this many such scans the remaining
# dollars are text. A URL is at most this long when telling its `~` and `--` apart.
MAX_MATH_CHARS = 4_000
MAX_UNCLOSED_MATH = 8
MAX_URL_CHARS = 500


@dataclass(slots=True)
class Math:
    """Math exactly as typed, delimiters included."""

    source: str


@dataclass(slots=True)
class Styled:
    """Text shown with an HTML element: em, strong, code, sup or sub."""

    tag: str
    children: list[Node] = field(default_factory=list)


@dataclass(slots=True)
class Link:
    """A link from `\\url` or `\\href`; `url` is http(s) (others stay text)."""

    url: str
    children: list[Node] = field(default_factory=list)


Node = str | Math | Styled | Link


def _add(out: list[Node], nodes: list[Node] | str) -> None:
    if isinstance(nodes, str):
        if nodes:
            out.append(nodes)
    else:
        out.extend(nodes)


def _runs(nodes: list[Node]) -> list[Node]:
    """Neighbouring text joined into one run, so no word is split between two nodes."""
    merged: list[Node] = []
    pending: list[str] = []
    for node in nodes:
        if isinstance(node, str):
            pending.append(node)
            continue
        if pending:
            merged.append("".join(pending))
            pending = []
        merged.append(node)
    if pending:
        merged.append("".join(pending))
    return merged


def _accented(text: str, mark: str) -> str:
    if not text:
        return ""
    base = {"ı": "i", "ȷ": "j"}.get(text[0], text[0])
    return unicodedata.normalize("NFC", base + mark) + text[1:]


def _typography(source: str, offset: int, text: str) -> str:
    """LaTeX's -- and --- as dashes, ``these'' as curly quotes; `text` is at `offset` in
    `source`, which tells a URL (left alone) and a command-line option (--help)."""

    def replace(match: re.Match[str]) -> str:
        token = match.group()
        if token == "``":
            return "“"
        if token == "''":
            return "”"
        start, end = match.start(), match.end()
        before = text[start - 1] if start else source[offset - 1 : offset] or " "
        if (before.isspace() and text[end : end + 1].isalpha()) or _in_url(source, offset + start):
            return token
        return "—" if token == "---" else "–"

    return _TYPOGRAPHY.sub(replace, text)


def _in_url(text: str, index: int) -> bool:
    """True if `index` is inside a bare URL (looking back a bounded way: a URL is short)."""
    start = max(0, index - MAX_URL_CHARS)
    word_start = max(text.rfind(space, start, index) for space in " \n\t") + 1
    return "://" in text[max(start, word_start) : index]


def _math_end(source: str, start: int, delimiter: str) -> int:
    """Where `delimiter` closes math opened before `start` (KaTeX auto-render's rule), or -1
    when it does not within MAX_MATH_CHARS."""
    depth = 0
    index = start
    limit = start + MAX_MATH_CHARS
    while match := _MATH_STOP.search(source, index, limit):
        index = match.start()
        if depth <= 0 and source.startswith(delimiter, index):
            return index
        char = source[index]
        if char == "\\":
            index += 1
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        index += 1
    return -1


class _Parser:
    __slots__ = ("depth", "n", "pos", "source", "unclosed_math")

    def __init__(self, source: str) -> None:
        self.source = source
        self.pos = 0
        self.n = len(source)
        self.depth = 0
        self.unclosed_math = 0

    def parse_all(self) -> list[Node]:
        out: list[Node] = []
        while self.pos < self.n:  # a declaration at the top level returns early
            _add(out, self.parse())
        return out

    def parse(self, *, in_group: bool = False) -> list[Node]:
        out: list[Node] = []
        if self.depth >= MAX_DEPTH:
            return out
        self.depth += 1
        try:
            while self.pos < self.n:
                match = _TOKEN.match(self.source, self.pos)
                assert match is not None  # `.` matches any character
                self.pos = match.end()
                kind, token = match.lastgroup, match.group()
                if kind == "close":
                    if in_group:
                        return out
                elif kind == "word":
                    styled = self._word(token[1:].rstrip("*"), out, in_group=in_group)
                    if styled is not None:  # a declaration took the rest of the group
                        _add(out, [styled])
                        return out
                else:
                    _add(out, self._token(kind, token, match.start()))
            return out
        finally:
            self.depth -= 1

    def _token(self, kind: str | None, token: str, start: int) -> list[Node] | str:
        if kind == "plain":
            if "--" in token or "``" in token or "''" in token:
                return _typography(self.source, start, token)
            return token
        if kind == "symbol":
            return self._symbol(token[1])
        if kind == "math":
            return self._math(token, start)
        if kind == "open":
            return self.parse(in_group=True)
        # A tie (Fig.~2); a spaced `~100` means "about", and a URL's /~user stays.
        before = self.source[start - 1] if start else " "
        after = self.source[self.pos] if self.pos < self.n else " "
        if before.isspace() or after.isspace() or _in_url(self.source, start):
            return "~"
        return " "

    def _math(self, opening: str, start: int) -> list[Node] | str:
        closing = _MATH_END[opening]
        end = -1
        if self.unclosed_math < MAX_UNCLOSED_MATH:
            end = _math_end(self.source, self.pos, closing)
            self.unclosed_math += end < 0
        if end < 0:
            return opening.lstrip("\\")
        self.pos = end + len(closing)
        return [Math(self.source[start : self.pos])]

    def _next_is_group(self, *, spaces: bool = True) -> bool:
        if spaces:
            while self.pos < self.n and self.source[self.pos].isspace():
                self.pos += 1
        return self.pos < self.n and self.source[self.pos] == "{"

    def _skip_optional(self) -> None:
        while match := _OPTIONAL_ARG.match(self.source, self.pos):
            self.pos = match.end()

    def _raw_group(self) -> str:
        """The text of the `{...}` group at pos, braces balanced, not parsed."""
        if not self._next_is_group():
            return ""
        start = self.pos + 1
        depth = 0
        while self.pos < self.n:
            char = self.source[self.pos]
            if char == "\\":
                self.pos += 1
            elif char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth == 0:
                    self.pos += 1
                    return self.source[start : self.pos - 1]
            self.pos += 1
        return self.source[start:]

    def _group(self, *, spaces: bool = True) -> list[Node]:
        if not self._next_is_group(spaces=spaces):
            return []
        self.pos += 1
        return self.parse(in_group=True)

    def _word(self, name: str, out: list[Node], *, in_group: bool) -> Styled | None:
        """Handle the control word `name`; a declaration returns the rest of its group."""
        if name in _DECLARATIONS:
            while self.pos < self.n and self.source[self.pos].isspace():
                self.pos += 1  # {\em text}: the space only ends the command's name
            return Styled(_DECLARATIONS[name], self.parse(in_group=in_group))
        if name in _LETTERS or name in _SYMBOLS:
            if self.source.startswith("{}", self.pos):
                self.pos += 2
            elif name in _LETTERS and self.source.startswith(" ", self.pos):
                self.pos += 1  # M\o ller
            _add(out, _LETTERS.get(name) or _SYMBOLS[name])
        elif name in _STYLES:
            _add(out, [Styled(_STYLES[name], self._group())])
        elif name in _LETTER_ACCENTS and self._next_is_group(spaces=False):
            _add(out, _accented(_plain(self._group()), _LETTER_ACCENTS[name]))
        elif name not in _IGNORED:
            _add(out, self._command(name))
        return None

    def _command(self, name: str) -> list[Node] | str:
        if name in _CITES or name in _REFS:
            self._skip_optional()
            self._raw_group()
            return "[cite]" if name in _CITES else "[ref]"
        if name in _DROPPED_ARGS:
            dropped, shows_text = _DROPPED_ARGS[name]
            for _ in range(dropped):
                self._raw_group()
            return self._group() if shows_text else ""
        if name in _FOOTNOTES:
            self._skip_optional()
            return [" (", *self._group(), ")"]
        if name == "url":
            return self._link(self._raw_group(), [])
        if name == "href":
            url = self._raw_group()
            return self._link(url, self._group())
        if name == "char":
            return self._char_code()
        if name == "ding":
            return _dingbat(self._raw_group())
        if name in _LITERAL_ESCAPES and not self._next_is_group(spaces=False):
            return "\\" + name
        return self._unknown(name)

    def _link(self, url: str, children: list[Node]) -> list[Node]:
        target = _URL_ESCAPE.sub(r"\1", url.strip())  # \_ \% \# \& \~ in a URL are escapes
        text = children or [target]
        safe = http_url(target)
        return [Link(safe, text)] if safe else text

    def _unknown(self, name: str) -> list[Node] | str:
        self._skip_optional()
        children = self._group(spaces=False)
        return children or name  # `\ours{} is` and `\ours is` show "ours is"

    def _symbol(self, char: str) -> str:
        if char in _SYMBOL_ACCENTS:
            return self._accent_argument(_SYMBOL_ACCENTS[char]) or char
        return _SYMBOL_TEXT.get(char, char)

    def _accent_argument(self, mark: str) -> str:
        if self._next_is_group():
            return _accented(_plain(self._group()), mark)
        for name in ("i", "j"):
            if (
                self.source.startswith("\\" + name, self.pos)
                and not self.source[self.pos + 2 : self.pos + 3].isalpha()
            ):
                self.pos += 2
                return _accented(name, mark)
        if self.pos >= self.n or self.source[self.pos] == "\\":
            return ""
        self.pos += 1
        return _accented(self.source[self.pos - 1], mark)

    def _char_code(self) -> str:
        match = _CHAR_CODE.match(self.source, self.pos)
        if match is None:
            return ""
        self.pos = match.end()
        hexa, octal, char, decimal = match.groups()
        if char is not None:
            return str(char)
        code = int(hexa, 16) if hexa else int(octal, 8) if octal else int(decimal)
        return chr(code) if 0 < code < 0x110000 else ""


def _dingbat(number: str) -> str:
    """pifont's \\ding{n} (Zapf Dingbats): ✓ ✗ ① ❶ and their kin."""
    if not number.strip().isdigit():
        return ""
    n = int(number)
    if 172 <= n <= 181:
        return chr(0x2460 + n - 172)  # circled digits ① ...
    if 182 <= n <= 211:
        return chr(0x2776 + n - 182)  # negative circled digits ❶ ...
    if 33 <= n <= 126:
        return chr(0x2700 + n - 32)
    return ""


def _plain(nodes: list[Node]) -> str:
    parts: list[str] = []
    for node in nodes:  # text runs need not be joined first: plain text is one string
        if isinstance(node, str):
            parts.append(node)
        elif isinstance(node, Math):
            parts.append(node.source)
        elif isinstance(node, Link):
            text = _plain(node.children)
            parts.append(text if text == node.url else f"{text} ({node.url})")
        else:
            parts.append(_plain(node.children))
    return "".join(parts)


def escape_text(text: str) -> str:
    """Text as HTML: escaped, with any `$` kept from KaTeX (it is not a math delimiter here)."""
    escaped = html.escape(text)
    return escaped.replace("$", _DOLLAR) if "$" in escaped else escaped


_DOLLAR = '<span class="nomath">$</span>'


def _html(nodes: list[Node], text_html: Callable[[str], str], links: bool) -> str:
    parts: list[str] = []
    for node in _runs(nodes):
        if isinstance(node, str):
            parts.append(text_html(node))
        elif isinstance(node, Math):
            parts.append(html.escape(node.source))
        elif isinstance(node, Link):
            inner = _html(node.children, text_html, links)
            if links:
                href = html.escape(node.url)
                parts.append(f'<a href="{href}" rel="nofollow noopener">{inner}</a>')
            else:
                parts.append(inner)
        else:
            inner = _html(node.children, text_html, links)
            parts.append(f"<{node.tag}>{inner}</{node.tag}>")
    return "".join(parts)


def latex_to_text(text: str) -> str:
    """Plain text: markup gone, accents and symbols as characters, math as typed."""
    if not any(sign in text for sign in _SIGNS):
        return text
    return _plain(_Parser(text).parse_all())


def latex_to_html(
    text: str, *, links: bool = True, text_html: Callable[[str], str] = escape_text
) -> str:
    """Escaped HTML: <em>, <strong>, <code>, <sup>, <sub>, and http(s) links when `links`
    (False inside another link); math as typed for KaTeX. `text_html` renders each run of
    plain text (search marks the query's words in it)."""
    if "$" not in text and not any(sign in text for sign in _SIGNS):
        return text_html(text)
    return _html(_Parser(text).parse_all(), text_html, links)
