"""LaTeX in real arXiv titles and abstracts, as plain text (index, feeds, mail) and as HTML."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from dailypapers.latex import latex_to_html, latex_to_text

# From the arXiv listing of 2026-04 (not in the daily files below): custom macros in math.
ALAMOUTI = (
    "We study a space--time block code from a maximal order in the definite quaternion algebra"
    " $(-1,-3)_{\\Q}$. Its embedding into $\\C^{2\\times 2}$ yields an Alamouti--Eisenstein"
    " code over $\\Z[w]$ with full diversity, orthogonality, and non-vanishing determinant."
    " [...] obtaining an asymptotic energy gain of about $0.79$~dB and a small but positive"
    " mutual-information gain."
)


@pytest.fixture(scope="module")
def abstracts(shared_data: Path) -> dict[str, str]:
    """Abstracts of the arXiv daily listings, by id."""
    found: dict[str, str] = {}
    for day in ("2025-03-18", "2026-01-15", "2026-07-01"):
        path = shared_data / "arxiv-cs-2025" / f"{day}.jsonl"
        for line in path.read_text(encoding="utf-8").splitlines():
            paper = json.loads(line)
            found.setdefault(paper["id"], paper["summary"])
    return found


def test_emphasis_and_bold_become_markup_and_math_stays(abstracts: dict[str, str]) -> None:
    abstract = abstracts["2606.31644"]
    assert "\\emph{performative compliance}" in abstract
    text = latex_to_text(abstract)
    assert "We term this failure performative compliance, where" in text
    assert "We propose the Cue Visibility Gap, a model-agnostic" in text
    assert "harmful decisions by $+4.4$ pp and" in text  # the tie is a space, math as typed
    assert "\\" not in text.replace("$+4.4$", "")
    page = latex_to_html(abstract)
    assert "failure <em>performative compliance</em>, where" in page
    assert "the <strong>Cue Visibility Gap</strong>, a" in page
    assert "by $+4.4$ pp" in page


def test_links_cite_and_percent(abstracts: dict[str, str]) -> None:
    imt = abstracts["2503.12418"]  # \href{url}{url} and 86.93\%
    assert latex_to_text(imt).endswith(
        "accuracy of 86.93%, demonstrating the superior performance\nof the proposed method."
        " Code is available at\nhttps://github.com/xielaobanyy/causal-imt."
    )
    assert (
        'at\n<a href="https://github.com/xielaobanyy/causal-imt" rel="nofollow noopener">'
        "https://github.com/xielaobanyy/causal-imt</a>."
    ) in latex_to_html(imt)
    stereo = abstracts["2606.31636"]  # \href{url}{\textcolor{blue}{Code}}
    assert latex_to_html(stereo).endswith(
        '<a href="https://mdraqibkhan.github.io/Litematch" rel="nofollow noopener">Code</a>'
    )
    assert latex_to_text(stereo).endswith("Code (https://mdraqibkhan.github.io/Litematch)")
    assert latex_to_html(stereo, links=False).endswith("generalize across domains without"
        " sacrificing accuracy. Code")  # fmt: skip
    coding = latex_to_text(abstracts["2601.09329"])
    assert coding.endswith("the conjecture proposed by Butman in [cite].")
    assert "for AR($p$) Gaussian channels" in coding


def test_ties_dashes_quotes_and_code(abstracts: dict[str, str]) -> None:
    ldpc = latex_to_text(abstracts["2601.09674"])
    assert "Building on our work [cite] that introduced" in ldpc
    assert "a Moser–Tardos (MT)-type constructive approach" in ldpc
    plan = abstracts["2601.08955"]
    assert "multi-step “imagined” trajectories" in latex_to_text(plan)
    assert "Imagine-then-Plan (<code>ITP</code>)" in latex_to_html(plan)
    assert "partially <em>observable</em> and <em>imaginable</em> Markov" in latex_to_html(plan)


def test_inline_math_in_parentheses_is_kept_for_katex(abstracts: dict[str, str]) -> None:
    abstract = abstracts["2601.08929"]
    formula = "\\(f:(0,\\infty)\\to\\mathbb{R}\\)"
    assert formula in abstract
    assert formula in latex_to_text(abstract)
    assert formula in latex_to_html(abstract)


def test_custom_macros_become_their_name_or_argument(abstracts: dict[str, str]) -> None:
    assert "that PRA outperforms baseline" in latex_to_text(abstracts["2601.09152"])
    assert "We introduce method, a budgeted" in latex_to_text(abstracts["2606.31422"])
    assert "options. We evaluate the framework" in latex_to_text(abstracts["2601.09680"])
    assert "natures, <em>i.e.</em>, (1)" in latex_to_html(abstracts["2503.12840"])
    assert "including 360° rotation" in latex_to_text(abstracts["2503.13265"])
    assert latex_to_text("\\ours{} is better and \\ours is cheaper") == (
        "ours is better and ours is cheaper"
    )
    # Inside math nothing changes: KaTeX's own options keep \Q from showing red.
    text = latex_to_text(ALAMOUTI)
    assert "a space–time block code" in text and "Alamouti–Eisenstein" in text
    assert "algebra $(-1,-3)_{\\Q}$. Its embedding into $\\C^{2\\times 2}$" in text
    assert "about $0.79$ dB" in text


@pytest.mark.parametrize(
    ("latex", "text"),
    [
        ('M\\"uller, Do\\~nana, \\\'{e}, \\\'\\i, \\c{c}, \\v{s}, M\\o ller, Stra\\ss{}e', "Müller,"
         " Doñana, é, í, ç, š, Møller, Straße"),
        ("{\\em A} and {\\bf B} and \\textit{C}", "A and B and C"),
        ("costs \\$5, 10\\% off, R\\&D, a\\_b, \\{x\\}", "costs $5, 10% off, R&D, a_b, {x}"),
        ("pages 1--10, a---b, run --help, ~100 items, Fig.~3", "pages 1–10, a—b, run --help,"
         " ~100 items, Fig. 3"),
        ("see https://www.robots.ox.ac.uk/~vgg/x--y", "see https://www.robots.ox.ac.uk/~vgg/x--y"),
        ("\\textcolor{red}{warm} \\footnote{note} \\label{x}\\ref{y}", "warm  (note) [ref]"),
        ("\\ding{182} first, \\ding{51} done, \\char\"0986", "❶ first, ✓ done, আ"),
        ("tokens like \\n\\n stay", "tokens like \\n\\n stay"),
        ("unbalanced } and { braces", "unbalanced  and  braces"),
        ("$$x$$, \\[y\\], \\(z\\), $w$", "$$x$$, \\[y\\], \\(z\\), $w$"),
    ],
)  # fmt: skip
def test_text_mode_commands(latex: str, text: str) -> None:
    assert latex_to_text(latex) == text


def test_only_http_links_and_escaped_text_reach_html() -> None:
    page = latex_to_html(
        "\\url{javascript:alert(1)} \\href{JavaScript:alert(2)}{click} "
        '\\emph{<script>alert("x")</script>} \\url{https://ok.example/a\\_b?c=1&d=2}'
    )
    assert "<a" not in page.replace('<a href="https://ok.example/a_b?c=1&amp;d=2"', "")
    assert (
        "javascript:alert(1) click <em>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</em>"
        in page
    )
    assert latex_to_html("<b>plain</b>") == "&lt;b&gt;plain&lt;/b&gt;"


def test_a_literal_dollar_is_kept_from_katex() -> None:
    # "\$100 ... $x$" must not become one formula "100 ... " on the page.
    page = latex_to_html("Budget of \\$100 with $x$ tokens")
    assert page == 'Budget of <span class="nomath">$</span>100 with $x$ tokens'


def test_text_without_latex_is_returned_as_is() -> None:
    title = "Breaking the Memory Barrier: Near Infinite Batch Size Scaling"
    assert latex_to_text(title) is title
    assert latex_to_html(title) == title


def test_hostile_nesting_and_dollars_stay_fast_and_finite() -> None:
    started = time.perf_counter()
    assert latex_to_text("{" * 5_000 + "deep" + "}" * 5_000) == "deep"
    assert latex_to_text("\\em" * 5_000 + " x") == "x"
    assert latex_to_html("{$" * 5_000).count("nomath") > 4_000
    assert time.perf_counter() - started < 2.0
