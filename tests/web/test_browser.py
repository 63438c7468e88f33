"""End-to-end journeys in a real headless Chromium against a real `dailypapers serve` process:
signing up, searching, reading, voting (with and without JavaScript), commenting, submitting,
logging out; dark mode, a phone-sized screen, keyboard use, math, and a clean browser console.

Screenshots of the main pages are kept in $DAILYPAPERS_ARTIFACTS (test-artifacts/screenshots).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Dialog, Locator, Page, expect

from tests.web.browser_fixtures import (
    DESKTOP,
    MOBILE,
    PageWatch,
    horizontal_overflow_px,
    icon_status,
    import_arxiv_papers,
    screenshot,
    sign_up_in_browser,
)
from tests.web.conftest import PASSWORD, LiveServer

# From the arXiv listing of 2025-03-18: stored by the import below, on no daily list.
SUBMIT_ID = "2503.11731"
SUBMIT_TITLE = "Industrial-Grade Sensor Simulation via Gaussian Splatting"
MATH_ID = "2503.11945"  # its abstract has $W_*$, $99\%$, $48$ and $10^5 \times$
# A real abstract (arXiv 2604.10137) with the authors' own \Q, \C and \Z in math, and a made-up
# paper that puts \Q in a title, which "Similar papers" on the first one's page shows.
MACRO_PAPERS: list[dict[str, Any]] = [
    {
        "id": "2604.10137",
        "title": "Finite-Blocklength Analysis of Alamouti Codes over Eisenstein Integers",
        "summary": "We study a space--time block code from a maximal order in the definite"
        " quaternion algebra $(-1,-3)_{\\Q}$. Its embedding into $\\C^{2\\times 2}$ yields an"
        " Alamouti--Eisenstein code over $\\Z[w]$ with full diversity.",
        "authors": ["Juliana Souza", "Yu-Chih Huang"],
        "categories": ["cs.IT"],
        "abs": "https://arxiv.org/abs/2604.10137",
    },
    {
        "id": "2604.99901",
        "title": "Alamouti Codes over Eisenstein Integers from Orders in $(-1,-3)_{\\Q}$",
        "summary": "A made-up paper for the browser tests.",
        "authors": ["Test Author"],
        "categories": ["cs.IT"],
        "abs": "https://arxiv.org/abs/2604.99901",
    },
]
# The seed pages are the daily lists of 2024-01-07 and 2024-05-01; nothing in between.
QUIET_DAY = "2024-03-01"
# On the home page's list; only the comment tests below write on its page.
QUIET_PAPER = "2410.17243"
TIMEOUT_MS = 10_000

OpenPage = Callable[..., Page]


@pytest.fixture(scope="module")
def template_home(
    seeded_home: Path, shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The seeded site plus real arXiv papers (and MACRO_PAPERS); copied, never served itself."""
    home = tmp_path_factory.mktemp("browser-template") / "home"
    shutil.copytree(seeded_home, home)
    listing = shared_data / "arxiv-cs-2025" / "2025-03-18.jsonl"
    import_arxiv_papers(home, listing, {SUBMIT_ID, MATH_ID})
    macros = home.parent / "arxiv-macros.jsonl"
    macros.write_text("".join(json.dumps(p) + "\n" for p in MACRO_PAPERS), encoding="utf-8")
    import_arxiv_papers(home, macros, {paper["id"] for paper in MACRO_PAPERS})
    return home


@pytest.fixture(scope="module")
def server(
    browser: Browser,  # noqa: ARG001 (skip before starting a server when there is no browser)
    template_home: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    """One server for the journeys that do not change the daily lists."""
    home = tmp_path_factory.mktemp("browser-shared") / "home"
    shutil.copytree(template_home, home)
    live = LiveServer(home)
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture
def open_page(browser: Browser, server: LiveServer) -> Iterator[OpenPage]:
    """Opens a page in a fresh browser context (its own cookies) with these context options."""
    contexts: list[BrowserContext] = []

    def open_(**options: Any) -> Page:
        options.setdefault("viewport", DESKTOP)
        context = browser.new_context(base_url=server.url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page: OpenPage) -> Page:
    return open_page()


def votes_of(page: Page, paper_id: str) -> Locator:
    """The upvote control and count of one paper, wherever the list has moved it."""
    return page.locator(".votes", has=page.locator(f'.count[data-paper="{paper_id}"]'))


def paper_id_of(votes: Locator) -> str:
    paper_id = votes.locator(".count").get_attribute("data-paper")
    assert paper_id
    return paper_id


def luminance(page: Page, css: str = "document.body") -> float:
    """Relative brightness 0..1 of an element's computed background colour."""
    rgb: str = page.evaluate(f"getComputedStyle({css}).backgroundColor")
    red, green, blue = (int(v) for v in re.findall(r"\d+", rgb)[:3])
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255


def tab_until(page: Page, selector: str, *, limit: int = 40) -> None:
    """Press Tab from the top of the page until `selector` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{limit} presses of Tab did not reach {selector}")


def assert_focus_visible(page: Page) -> None:
    style = page.evaluate(
        """() => { const e = document.activeElement, s = getComputedStyle(e);
        return {visible: e.matches(':focus-visible'), style: s.outlineStyle,
                width: parseFloat(s.outlineWidth)}; }"""
    )
    assert style["visible"] and style["style"] != "none" and style["width"] >= 2, style


# -- journeys -------------------------------------------------------------------------------------


def test_sign_up_from_the_header_logs_the_new_account_in(open_page: OpenPage) -> None:
    page = open_page()
    page.goto("/")
    page.locator("header.site").get_by_role("link", name="Sign up").click()
    page.get_by_label("Name").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()

    header = page.locator("header.site")
    expect(header.get_by_role("button", name="Log out")).to_be_visible()
    expect(header.get_by_role("link", name="Submit")).to_be_visible()
    header.get_by_role("link", name="ada").click()
    expect(page.locator("h1")).to_have_text("ada")
    expect(page.get_by_role("link", name="API tokens")).to_be_visible()

    other = open_page()
    other.goto("/signup")
    other.get_by_label("Name").fill("ADA")
    other.get_by_label("Password").fill(PASSWORD)
    other.get_by_role("button", name="Create account").click()
    expect(other.get_by_role("alert")).to_have_text("the name 'ADA' is taken")


def test_search_box_finds_papers_and_highlights_the_query_words(page: Page) -> None:
    page.goto("/")
    page.get_by_role("navigation", name="Lists").get_by_role("link", name="Search").click()
    box = page.get_by_role("searchbox", name="Query")
    expect(box).to_be_focused()
    box.press_sequentially("diffusion")
    box.press("Enter")

    expect(page).to_have_url(re.compile(r"/search\?q=diffusion"))
    cards = page.locator("article.card")
    expect(cards.first).to_be_visible()
    assert cards.count() >= 5
    marks = cards.first.locator("mark")
    expect(marks.first).to_be_visible()
    # Words the search matched: the stem of "diffusion" ("diffus": diffusion, diffuse, ...).
    assert all(re.fullmatch(r"diffus\w*", m, re.IGNORECASE) for m in marks.all_inner_texts())


def test_a_paper_opens_from_the_daily_list(page: Page) -> None:
    page.goto("/")
    list_url = page.locator("nav.tabs a[aria-current]").get_attribute("href")
    link = page.locator("article.card h3 a").nth(1)
    title = link.inner_text()
    link.click()

    expect(page).to_have_url(re.compile(r"/papers/[^/]+$"))
    expect(page.locator("h1")).to_have_text(title)
    expect(page.locator(".abstract")).not_to_be_empty()
    expect(page.locator(f'.paper-head a[href="{list_url}"]')).to_be_visible()


def test_upvote_with_javascript_changes_the_count_in_place_and_survives_a_reload(
    page: Page,
) -> None:
    sign_up_in_browser(page, "grace")
    page.goto("/")
    paper_id = paper_id_of(page.locator(".votes").nth(2))
    votes = votes_of(page, paper_id)
    before = int(votes.locator(".count").inner_text())
    page.evaluate("window.sameDocument = true")

    votes.get_by_role("button", name=re.compile("^Upvote")).click()
    expect(votes.locator(".count")).to_have_text(str(before + 1))
    expect(votes.locator("button")).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("window.sameDocument === true"), "the page reloaded"

    page.reload()
    expect(votes.locator(".count")).to_have_text(str(before + 1))
    expect(votes.get_by_role("button", name=re.compile("^Withdraw upvote"))).to_be_visible()
    votes.locator("button").click()
    expect(votes.locator(".count")).to_have_text(str(before))
    page.reload()
    expect(votes.locator("button")).to_have_attribute("aria-pressed", "false")


def test_upvote_without_javascript_posts_the_form_and_comes_back(
    open_page: OpenPage, server: LiveServer
) -> None:
    page = open_page(java_script_enabled=False)
    sign_up_in_browser(page, "hopper")
    page.goto("/?sort=published")
    paper_id = paper_id_of(page.locator(".votes").nth(3))
    votes = votes_of(page, paper_id)
    before = int(votes.locator(".count").inner_text())

    with page.expect_navigation():
        votes.get_by_role("button", name=re.compile("^Upvote")).click()
    expect(page).to_have_url(server.url + "/?sort=published")
    expect(votes.locator(".count")).to_have_text(str(before + 1))
    expect(votes.locator("button")).to_have_attribute("aria-pressed", "true")


def test_comment_in_markdown_then_reply_edit_and_delete(page: Page) -> None:
    sign_up_in_browser(page, "linus")
    page.goto(f"/papers/{MATH_ID}")
    text = "Read **section 3** first:\n\n- `W_*` is the token\n- <b>raw</b> HTML stays text"
    page.get_by_label("Add a comment (Markdown)").fill(text)
    page.get_by_role("button", name="Comment", exact=True).click()

    thread = page.locator("#comments > .comment").first
    thread_id = thread.get_attribute("id")
    assert thread_id and thread_id.startswith("comment-")
    body = page.locator(f"#{thread_id} > .comment-body")
    expect(body.locator("strong")).to_have_text("section 3")
    expect(body.locator("li code")).to_have_text("W_*")
    expect(body.locator("b")).to_have_count(0)
    expect(body).to_contain_text("<b>raw</b> HTML stays text")
    expect(page.locator("#comments-h")).to_have_text("Comments (1)")

    actions = page.locator(f"#{thread_id} > .comment-actions")
    actions.locator("summary", has_text="Reply").click()
    actions.get_by_label("Reply").fill("Agreed, *thanks*.")
    actions.locator("form button", has_text="Reply").click()
    reply = page.locator(f"#{thread_id} .reply .comment-body")
    expect(reply.locator("em")).to_have_text("thanks")
    expect(page.locator("#comments-h")).to_have_text("Comments (2)")

    actions.locator("summary", has_text="Edit").click()
    actions.get_by_label("Edit comment").fill("Read **section 4** first.")
    actions.get_by_role("button", name="Save").click()
    expect(body.locator("strong")).to_have_text("section 4")
    expect(page.locator(f"#{thread_id} > p.meta")).to_contain_text("edited")
    screenshot(page, "paper-comments-light")

    page.once("dialog", lambda dialog: dialog.accept())
    actions.get_by_role("link", name="Delete").click()
    expect(page.locator(f"#{thread_id} > p em")).to_have_text("deleted")
    expect(body).to_have_count(0)
    expect(reply).to_contain_text("Agreed, thanks.")
    expect(page.locator("#comments-h")).to_have_text("Comments (1)")


def _post_comment(page: Page, text: str) -> str:
    """Comment on QUIET_PAPER through its form; the new comment's element id."""
    page.goto(f"/papers/{QUIET_PAPER}")
    page.get_by_label("Add a comment (Markdown)").fill(text)
    page.get_by_role("button", name="Comment", exact=True).click()
    page.wait_for_url(re.compile(r"#comment-\d+$"))
    return page.url.rsplit("#", 1)[1]


def test_a_blank_comment_is_refused_in_place_and_keeps_the_text(page: Page) -> None:
    sign_up_in_browser(page, "blank-writer")
    page.goto(f"/papers/{QUIET_PAPER}")
    box = page.get_by_label("Add a comment (Markdown)")
    box.fill("   ")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Comment", exact=True).click()
    assert posted.value.status == 422
    alert = page.locator("#comments").get_by_role("alert")
    expect(alert).to_have_text("the comment is empty")
    expect(page.locator("h1")).to_contain_text("Breaking the Memory Barrier")
    expect(box).to_have_value("   ")
    expect(box).to_be_focused()
    screenshot(page, "comment-refused")
    box.fill("Now with *words*")
    page.get_by_role("button", name="Comment", exact=True).click()
    expect(page.locator(".comment-body em", has_text="words")).to_be_visible()


def test_deleting_a_comment_asks_first_with_javascript(page: Page) -> None:
    sign_up_in_browser(page, "careful")
    thread = _post_comment(page, "Keep me unless I say so")
    body = page.locator(f"#{thread} > .comment-body")
    asked: list[str] = []

    def answer(accept: bool) -> None:
        def handle(dialog: Dialog) -> None:
            asked.append(dialog.message)
            if accept:
                dialog.accept()
            else:
                dialog.dismiss()

        page.once("dialog", handle)

    answer(False)
    page.locator(f"#{thread} > .comment-actions").get_by_role("link", name="Delete").click()
    assert asked == ["Delete this comment? This cannot be undone."]
    page.reload()
    expect(body).to_have_text("Keep me unless I say so")
    answer(True)
    page.locator(f"#{thread} > .comment-actions").get_by_role("link", name="Delete").click()
    expect(page.locator(f"#{thread}")).to_have_count(0)  # no replies: nothing left to show
    assert len(asked) == 2


def test_deleting_a_comment_asks_first_without_javascript(open_page: OpenPage) -> None:
    page = open_page(java_script_enabled=False)
    sign_up_in_browser(page, "careful-nojs")
    thread = _post_comment(page, "Delete me, but ask")
    page.locator(f"#{thread} > .comment-actions").get_by_role("link", name="Delete").click()
    expect(page.locator("h1")).to_have_text("Delete your comment?")
    expect(page.locator("main")).to_contain_text("Delete me, but ask")
    screenshot(page, "comment-delete-confirm")
    page.get_by_role("link", name="Keep it").click()
    expect(page.locator(f"#{thread} > .comment-body")).to_have_text("Delete me, but ask")
    page.locator(f"#{thread} > .comment-actions").get_by_role("link", name="Delete").click()
    page.get_by_role("button", name="Delete").click()
    expect(page.locator(f"#{thread}")).to_have_count(0)


def test_submit_a_stored_paper_puts_it_on_todays_list(
    browser: Browser, template_home: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"  # its own server: the submission changes the home page
    shutil.copytree(template_home, home)
    server = LiveServer(home)
    context = browser.new_context(base_url=server.url, viewport=DESKTOP)
    try:
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        sign_up_in_browser(page, "marie")
        page.locator("header.site").get_by_role("link", name="Submit").click()
        page.get_by_label("arXiv id or URL").fill(f"https://arxiv.org/abs/{SUBMIT_ID}v1")
        page.get_by_role("button", name="Submit").click()

        expect(page).to_have_url(f"{server.url}/papers/{SUBMIT_ID}")
        expect(page.locator("h1")).to_contain_text(SUBMIT_TITLE)
        expect(page.locator(".paper-head")).to_contain_text("submitted by marie")
        page.locator("header.site").get_by_role("link", name="Daily", exact=True).click()
        cards = page.locator("article.card")
        expect(cards).to_have_count(1)
        expect(cards).to_contain_text(SUBMIT_TITLE)
        expect(cards).to_contain_text("submitted by marie")

        page.goto("/submit")
        page.get_by_label("arXiv id or URL").fill(SUBMIT_ID)
        page.get_by_role("button", name="Submit").click()
        expect(page.get_by_role("alert")).to_contain_text(f"{SUBMIT_ID} is already on the list")
        page.get_by_label("arXiv id or URL").fill("2503.99999")
        page.get_by_role("button", name="Submit").click()
        expect(page.get_by_role("alert")).to_have_text("no paper 2503.99999 was found here")
    finally:
        context.close()
        server.stop()


def test_log_out_then_upvoting_asks_to_log_in_and_comes_back(
    page: Page, server: LiveServer
) -> None:
    sign_up_in_browser(page, "edsger")
    page.goto("/")
    header = page.locator("header.site")
    header.get_by_role("button", name="Log out").click()

    expect(header.get_by_role("link", name="Log in")).to_be_visible()
    expect(header.locator("a.me")).to_have_count(0)
    first = page.locator(".votes").first
    paper_id = paper_id_of(first)
    upvote = first.get_by_role("link", name=re.compile("^Log in to upvote"))
    upvote.click()

    expect(page.locator("h1")).to_have_text("Log in")
    page.get_by_label("Name").fill("edsger")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{server.url}/papers/{paper_id}")
    expect(page.get_by_role("button", name=re.compile("^Upvote"))).to_be_visible()


# -- presentation ---------------------------------------------------------------------------------


def test_dark_mode_follows_the_system_and_the_toggle_overrides_it(open_page: OpenPage) -> None:
    light = open_page(color_scheme="light")
    light.goto("/")
    dark = open_page(color_scheme="dark")
    dark.goto("/")
    assert luminance(light) > 0.9
    assert luminance(dark) < 0.15
    assert luminance(dark, "document.querySelector('article.card')") < 0.15

    dark.get_by_role("button", name="Switch light/dark theme").click()
    assert luminance(dark) > 0.9
    dark.reload()
    assert luminance(dark) > 0.9, "the chosen theme was not remembered"


def test_phone_width_pages_do_not_scroll_sideways(open_page: OpenPage) -> None:
    for scheme in ("light", "dark"):
        phone = open_page(viewport=MOBILE, is_mobile=True, has_touch=True, color_scheme=scheme)
        phone.goto("/")
        assert horizontal_overflow_px(phone) == 0
        screenshot(phone, f"list-mobile-{scheme}")
    sign_up_in_browser(phone, "tim-berners-lee")
    phone.goto(f"/papers/{SUBMIT_ID}")
    long_link = "https://example.org/" + "very-long-path-segment/" * 6
    phone.get_by_label("Add a comment (Markdown)").fill(f"See {long_link} and `{'x' * 60}`")
    phone.get_by_role("button", name="Comment", exact=True).click()
    expect(phone.locator(".comment-body")).to_contain_text(long_link)
    assert horizontal_overflow_px(phone) == 0, "a long word in a comment widens the page"
    screenshot(phone, "paper-mobile-dark")
    for path in ("/", f"/papers/{MATH_ID}", "/search?q=diffusion+model", "/trending", "/submit"):
        phone.goto(path)
        assert horizontal_overflow_px(phone) == 0, path


SAME_LINE_PX = 4


def _separations(page: Page) -> list[float]:
    """For each card: the space between its date and its first category when on one line."""
    found: list[float] = page.evaluate(
        """() => [...document.querySelectorAll('article.card .facts')].flatMap(p => {
            const t = p.querySelector('time'), tag = p.querySelector('.tag');
            if (!t || !tag) return [];
            const a = t.getBoundingClientRect(), b = tag.getBoundingClientRect();
            return Math.abs(a.top - b.top) < 8 ? [b.left - a.right] : [];
        })"""
    )
    return found


def test_small_layout_faults_stay_fixed_at_desktop_and_phone_width(open_page: OpenPage) -> None:
    for name, viewport in (("desktop", DESKTOP), ("mobile", MOBILE)):
        page = open_page(viewport=viewport)
        page.goto("/papers/date/2007-03-31")
        gaps = _separations(page)
        assert gaps and min(gaps) >= SAME_LINE_PX, "a date touches its category label"
        height = page.locator("header.site").bounding_box()
        assert height is not None
        if name == "mobile":
            assert height["height"] <= 0.12 * MOBILE["height"], "the phone header is too tall"
        page.goto("/api")
        split = page.evaluate(
            """() => [...document.querySelectorAll(
                'table.endpoints td:first-child code, table.endpoints td:nth-child(4) code')]
              .filter(code => code.getClientRects().length > 1).map(code => code.textContent)"""
        )
        assert split == [], f"words split across lines: {split}"
        assert horizontal_overflow_px(page) == 0
        screenshot(page, f"api-{name}")
        sign_up_in_browser(page, f"a-rather-long-member-name-{name}")
        height = page.locator("header.site").bounding_box()
        assert height is not None
        if name == "mobile":
            screenshot(page, "header-member-mobile")
            assert height["height"] <= 0.12 * MOBILE["height"], "the phone header is too tall"
        page.goto(f"/papers/{QUIET_PAPER}")
        links, marks = page.locator("nav.links"), page.locator(".marks")
        expect(marks.get_by_role("button", name="Save")).to_be_visible()
        left = [box["x"] for box in (links.bounding_box(), marks.bounding_box()) if box]
        assert len(left) == 2 and abs(left[0] - left[1]) < 1, "Save / Not interested out of line"
        screenshot(page, f"paper-member-{name}")


def test_keyboard_reaches_the_search_box_and_upvotes_with_visible_focus(page: Page) -> None:
    sign_up_in_browser(page, "barbara")
    page.goto("/")
    tab_until(page, "header.site a[href='/search']")
    assert_focus_visible(page)
    page.keyboard.press("Enter")
    page.wait_for_url("**/search")
    box = page.get_by_role("searchbox", name="Query")
    expect(box).to_be_focused()
    assert_focus_visible(page)
    page.keyboard.type("diffusion")
    page.keyboard.press("Enter")
    expect(page.locator("article.card mark").first).to_be_visible()

    page.goto("/")
    tab_until(page, "button.vote")
    assert_focus_visible(page)
    paper_id = page.evaluate("document.activeElement.form.paper_id.value")
    before = int(votes_of(page, paper_id).locator(".count").inner_text())
    page.keyboard.press("Enter")
    expect(votes_of(page, paper_id).locator(".count")).to_have_text(str(before + 1))


def test_a_day_without_papers_links_to_the_nearest_days_with_papers(page: Page) -> None:
    page.goto(f"/papers/date/{QUIET_DAY}")
    empty = page.locator(".empty")
    expect(empty).to_contain_text("No papers on this day.")
    links = empty.get_by_role("link")
    expect(links).to_have_count(2)
    expect(links.first).to_have_attribute("href", "/papers/date/2024-01-07")
    expect(links.last).to_have_attribute("href", "/papers/date/2024-05-01")

    links.last.click()
    expect(page.locator("h1")).to_have_text("Wednesday, 01 May 2024")
    expect(page.locator("article.card").first).to_be_visible()


def test_katex_renders_the_math_in_an_abstract(page: Page) -> None:
    page.goto(f"/papers/{MATH_ID}")
    abstract = page.locator(".abstract")
    expect(abstract.locator(".katex")).to_have_count(4)
    expect(abstract.locator(".katex annotation").first).to_have_text("W_*")
    assert "$" not in abstract.inner_text()
    katex_fonts = page.evaluate(
        """() => document.fonts.ready.then(fonts => [...fonts]
            .filter(f => f.family.startsWith('KaTeX') && f.status === 'loaded').length)"""
    )
    assert katex_fonts > 0, "no KaTeX font loaded"


def test_an_authors_own_macro_in_math_shows_its_name_not_red(page: Page) -> None:
    real, made_up = MACRO_PAPERS
    page.goto(f"/papers/{real['id']}")
    title = page.locator(".similar a", has_text="from Orders in")
    assert made_up["id"] in (title.get_attribute("href") or "")
    expect(title.locator(".katex")).to_have_count(1)
    expect(page.locator(".abstract .katex")).to_have_count(3)
    # KaTeX shows a macro it does not know as typed, in red; here it is its name, in the text's
    # own colour.
    for shown in (title, page.locator(".abstract")):
        expect(shown.locator(".katex-html").first).to_contain_text("Q")
        other_colours = shown.evaluate(
            """e => [...e.querySelectorAll('.katex-html *')].map(m => getComputedStyle(m).color)
                .filter(c => c !== getComputedStyle(e).color)"""
        )
        assert other_colours == []
        assert "\\" not in "".join(shown.locator(".katex-html").all_inner_texts())


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_main_pages_log_no_errors_and_load_every_local_asset(
    open_page: OpenPage, server: LiveServer, scheme: str
) -> None:
    page = open_page(color_scheme=scheme)
    watch = PageWatch(origin=server.url)
    watch.attach(page)
    anonymous = {
        "list-desktop": "/",
        "paper": f"/papers/{MATH_ID}",
        "search": "/search?q=diffusion+model",
        "trending": "/trending",
        "empty-day": f"/papers/date/{QUIET_DAY}",
        "login": "/login",
        "signup": "/signup",
    }
    for name, path in anonymous.items():
        page.goto(path)
        # Chromium asks for a page's icon once per run, so it is checked here, not watched.
        assert icon_status(page) == 200, f"{path}: no icon"
        page.evaluate("document.fonts.ready")
        screenshot(page, f"{name}-{scheme}")
    username = f"watcher-{scheme}"
    sign_up_in_browser(page, username)
    for name, path in {"profile": f"/users/{username}", "submit": "/submit"}.items():
        page.goto(path)
        screenshot(page, f"{name}-{scheme}")
    assert watch.problems == []
