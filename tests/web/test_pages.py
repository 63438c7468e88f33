"""What a reader and a member see and do on the site, through an in-process client."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient

from dailypapers.index.build import build_indexes
from dailypapers.index.embeddings import Embedder
from dailypapers.store.accounts import set_admin
from dailypapers.store.engine import open_store
from dailypapers.web.app import create_app
from tests.search.conftest import import_files
from tests.web.conftest import csrf_cookie, csrf_from, sign_up, site_settings
from tests.web.hf_fixtures import HF_SAMPLE

HF_DAY = "2024-10-25"  # Hugging Face's recorded list: four papers with upvotes 64, 41, 37, 35
TOP = "2410.17243"
SNAPSHOT_PAPER = "0704.0001"  # from the arXiv snapshot sample; on no daily list


def _ids(html: str) -> list[str]:
    return re.findall(r'<h3><a href="/papers/([^"]+)"', html)


def test_daily_list_sorted_by_upvotes_with_its_json_twin(client: TestClient) -> None:
    page = client.get(f"/papers/date/{HF_DAY}")
    assert page.status_code == 200
    assert _ids(page.text) == ["2410.17243", "2410.16251", "2410.18533", "2410.18693"]
    assert 'rel="prev" href="/papers/date/2024-10-24"' in page.text
    assert 'rel="next" href="/papers/date/2024-10-26"' in page.text
    assert f'type="application/json" href="/api/v1/papers/date/{HF_DAY}"' in page.text
    twin = client.get(f"/api/v1/papers/date/{HF_DAY}").json()
    assert [p["id"] for p in twin["papers"]] == _ids(page.text)
    assert twin["total"] == 4 and twin["papers"][0]["score"] == 64


def test_week_and_month_lists_and_sorting_by_date(client: TestClient) -> None:
    week = client.get("/api/v1/papers/week/2024-W43").json()
    assert week["start"] == "2024-10-21" and week["total"] == 4
    month = client.get("/api/v1/papers/month/2007-04?sort=published").json()
    published = [p["published"] for p in month["papers"]]
    assert published == sorted(published, reverse=True) and month["total"] > 30
    assert client.get("/papers/month/2007-04").status_code == 200


def test_pages_of_a_long_list_do_not_overlap(client: TestClient) -> None:
    first = client.get("/api/v1/papers/month/2007-04").json()
    second = client.get("/api/v1/papers/month/2007-04?p=2").json()
    assert first["pages"] >= 2 and len(first["papers"]) == 30
    assert not {p["id"] for p in first["papers"]} & {p["id"] for p in second["papers"]}


def test_empty_day_links_to_the_nearest_days_with_papers(client: TestClient) -> None:
    # The seed pages' yearless dates fall in 2024 (the import's reference day is 2024-10-25).
    page = client.get("/papers/date/2024-06-01")
    assert page.status_code == 200 and "No papers on this day" in page.text
    assert 'href="/papers/date/2024-10-25"' in page.text
    assert 'href="/papers/date/2024-05-01"' in page.text
    twin = client.get("/api/v1/papers/date/2024-11-01").json()
    assert twin["nearest_before"] == "2024-10-25" and twin["nearest_after"] is None


def test_the_browsers_favicon_request_finds_the_icon(client: TestClient) -> None:
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert client.get("/favicon.ico", follow_redirects=False).status_code == 301


def test_malformed_period_is_a_clear_422(client: TestClient) -> None:
    page = client.get("/papers/date/2024-13-01")
    assert page.status_code == 422 and "2024-13-01" in page.text
    error = client.get("/api/v1/papers/week/2024-99").json()["error"]
    assert error["status"] == 422 and error["field"] == "week" and "2025-W18" in error["message"]


def test_paper_page_shows_everything_a_reader_needs(client: TestClient) -> None:
    page = client.get(f"/papers/{TOP}")
    assert page.status_code == 200
    text = page.text
    assert "Breaking the Memory Barrier" in text and "Zesen Cheng" in text
    assert "Contrastive loss is a powerful approach" in text
    assert f'href="/bibtex/{TOP}"' in text and "Similar papers" in text
    assert "/static/katex/katex.min.js" in text
    bibtex = client.get(f"/bibtex/{TOP}")
    assert bibtex.headers["content-type"].startswith("application/x-bibtex")
    assert f"eprint = {{{TOP}}}" in bibtex.text
    twin = client.get(f"/api/v1/papers/{TOP}").json()
    assert twin["paper"]["upvotes"] == 64 and twin["voted"] is False
    assert twin["similar"] and all(s["id"] != TOP for s in twin["similar"])


def test_unknown_paper_is_404_in_both_forms(client: TestClient) -> None:
    assert client.get("/papers/2410.99999").status_code == 404
    error = client.get("/api/v1/papers/2410.99999").json()["error"]
    assert error["code"] == "not_found" and "2410.99999" in error["message"]


def test_a_search_that_fell_back_to_keywords_says_so(client: TestClient) -> None:
    # Nothing to compare by meaning: a hybrid search of filters alone is ranked by keywords,
    # and the page and its JSON twin say what ranked it, not what was asked for.
    page = client.get("/search", params={"q": "cat:math.CO"})
    assert page.status_code == 200
    assert "keyword ranking" in page.text and "hybrid ranking" not in page.text
    twin = client.get("/api/v1/search", params={"q": "cat:math.CO"}).json()
    assert twin["mode"] == "keyword" and twin["hits"] and twin["notices"]
    # Without vectors (this site has not embedded its papers), any hybrid search falls back.
    words = client.get("/api/v1/search", params={"q": "graphs"}).json()
    assert words["mode"] == "keyword" and any("not built" in n for n in words["notices"])


def test_search_page_highlights_filters_and_has_a_twin(client: TestClient) -> None:
    page = client.get("/search", params={"q": "contrastive loss memory"})
    assert page.status_code == 200
    assert "<mark>" in page.text and TOP in page.text
    assert 'type="application/atom+xml"' in page.text
    twin = client.get("/api/v1/search", params={"q": "contrastive loss memory"}).json()
    assert twin["hits"][0]["paper"]["id"] == TOP
    filtered = client.get("/api/v1/search", params={"q": "contrastive", "from": "2030"}).json()
    assert filtered["hits"] == []
    bad = client.get("/search", params={"q": "x", "from": "20x5"})
    assert bad.status_code == 422 and "20x5" in bad.text


def test_sign_up_log_out_and_log_in(client: TestClient) -> None:
    sign_up(client, "reader1")
    assert "reader1" in client.get("/").text
    client.post("/logout", data={"csrf_token": csrf_cookie(client)})
    assert "Log in" in client.get("/").text
    page = client.get("/login")
    form = {"username": "READER1", "password": "wrong password", "csrf_token": csrf_from(page.text)}
    assert client.post("/login", data=form).status_code == 401
    form["password"] = "correct horse battery"
    response = client.post("/login", data=form, follow_redirects=False)
    assert response.status_code == 303 and "reader1" in client.get("/").text


def test_sign_up_errors_name_the_field(client: TestClient) -> None:
    sign_up(client, "taken")
    client.cookies.clear()
    token = csrf_from(client.get("/signup").text)
    cases = [("x", "correct horse battery", "username"), ("okname", "short", "password")]
    cases.append(("Taken", "correct horse battery", "taken"))
    for username, password, expected in cases:
        form = {"username": username, "password": password, "csrf_token": token}
        response = client.post("/signup", data=form)
        assert response.status_code in (409, 422) and expected in response.text


def test_upvote_through_the_form_and_withdraw(client: TestClient) -> None:
    sign_up(client, "voter")
    token = csrf_cookie(client)
    form = {"paper_id": TOP, "action": "up", "csrf_token": token, "next": f"/papers/date/{HF_DAY}"}
    response = client.post("/vote", data=form, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/papers/date/{HF_DAY}"
    client.post("/vote", data=form)  # a second click counts nothing
    detail = client.get(f"/api/v1/papers/{TOP}").json()
    assert detail["voted"] is True and detail["paper"]["score"] == 65
    assert detail["paper"]["votes"] == 1
    assert 'aria-pressed="true"' in client.get(f"/papers/{TOP}").text
    client.post("/vote", data={**form, "action": "down"})
    assert client.get(f"/api/v1/papers/{TOP}").json()["paper"]["score"] == 64


def test_comment_reply_edit_delete_with_markdown(client: TestClient) -> None:
    sign_up(client, "writer")
    token = csrf_cookie(client)
    form = {"paper_id": TOP, "body": "Nice **tiling** trick", "csrf_token": token}
    response = client.post("/comments", data=form, follow_redirects=False)
    assert response.status_code == 303
    comment_id = int(response.headers["location"].rsplit("-", 1)[1])
    client.post("/comments", data={**form, "body": "a reply", "parent_id": str(comment_id)})
    page = client.get(f"/papers/{TOP}").text
    assert "<strong>tiling</strong>" in page and "a reply" in page and "Comments (2)" in page
    client.post(f"/comments/{comment_id}/edit", data={"body": "Edited _text_", "csrf_token": token})
    assert "<em>text</em>" in client.get(f"/papers/{TOP}").text
    client.post(f"/comments/{comment_id}/delete", data={"csrf_token": token})
    detail = client.get(f"/api/v1/papers/{TOP}").json()
    assert (
        detail["comments"][0]["deleted"]
        and detail["comments"][0]["replies"][0]["body"] == "a reply"
    )
    assert detail["paper"]["comments"] == 1


def test_submit_a_stored_paper_once(client: TestClient) -> None:
    sign_up(client, "submitter")
    token = csrf_cookie(client)
    response = client.post(
        "/submit",
        data={"paper": f"https://arxiv.org/abs/{SNAPSHOT_PAPER}v2", "csrf_token": token},
        follow_redirects=False,
    )
    assert (
        response.status_code == 303 and response.headers["location"] == f"/papers/{SNAPSHOT_PAPER}"
    )
    today = datetime.now(UTC).date().isoformat()
    listed = client.get(f"/api/v1/papers/date/{today}").json()
    assert [p["id"] for p in listed["papers"]] == [SNAPSHOT_PAPER]
    assert listed["papers"][0]["submitted_by"] == "submitter"
    again = client.post("/submit", data={"paper": SNAPSHOT_PAPER, "csrf_token": token})
    assert again.status_code == 409 and "already on the list" in again.text
    missing = client.post("/submit", data={"paper": "2410.99999", "csrf_token": token})
    assert missing.status_code == 404 and "2410.99999" in missing.text
    garbage = client.post("/submit", data={"paper": "not an id", "csrf_token": token})
    assert garbage.status_code == 422 and "not an arXiv id" in garbage.text
    profile = client.get("/api/v1/users/submitter").json()
    assert [p["id"] for p in profile["submitted"]] == [SNAPSHOT_PAPER]


def test_admin_hides_a_paper_and_a_comment(client: TestClient) -> None:
    sign_up(client, "boss")
    set_admin(client.app.state.dp.engine, username="boss", is_admin=True)  # type: ignore[attr-defined]
    token = csrf_cookie(client)
    client.post("/comments", data={"paper_id": TOP, "body": "spam", "csrf_token": token})
    comment_id = client.get(f"/api/v1/papers/{TOP}").json()["comments"][0]["id"]
    client.post(f"/comments/{comment_id}/hide", data={"hidden": "true", "csrf_token": token})
    client.post("/admin/hide-paper", data={"paper_id": TOP, "hidden": "true", "csrf_token": token})
    assert client.get(f"/papers/{TOP}").status_code == 200  # admins still see it
    client.cookies.clear()
    assert client.get(f"/papers/{TOP}").status_code == 404
    assert TOP not in client.get(f"/papers/date/{HF_DAY}").text
    hits = client.get("/api/v1/search", params={"q": "contrastive loss memory"}).json()["hits"]
    assert TOP not in [h["paper"]["id"] for h in hits]


def test_a_hidden_comment_leaves_the_comment_counts(client: TestClient) -> None:
    sign_up(client, "boss")
    set_admin(client.app.state.dp.engine, username="boss", is_admin=True)  # type: ignore[attr-defined]
    token = csrf_cookie(client)
    for body in ("a fair point", "spam"):
        client.post("/comments", data={"paper_id": TOP, "body": body, "csrf_token": token})
    spam = client.get(f"/api/v1/papers/{TOP}").json()["comments"][1]["id"]
    client.post(f"/comments/{spam}/hide", data={"hidden": "true", "csrf_token": token})
    client.cookies.clear()
    assert "Comments (1)" in client.get(f"/papers/{TOP}").text
    assert client.get(f"/api/v1/papers/{TOP}").json()["paper"]["comments"] == 1
    page = client.get(f"/papers/date/{HF_DAY}").text
    card = re.search(rf'href="/papers/{TOP}#comments">([^<]*)</a>', page)
    assert card is not None and card.group(1) == "1 comment"


def _form_value(html: str, action: str, name: str) -> str:
    """The value of a hidden field in the form that posts to `action`."""
    form = re.search(rf'<form method="post" action="{re.escape(action)}".*?</form>', html, re.S)
    assert form, f"no form posting to {action}"
    value = re.search(rf'name="{name}" value="([^"]*)"', form.group(0))
    assert value, f"the {action} form has no {name}"
    return value.group(1)


def test_an_admin_sees_what_is_hidden_and_unhides_it_from_the_page(client: TestClient) -> None:
    sign_up(client, "boss")
    set_admin(client.app.state.dp.engine, username="boss", is_admin=True)  # type: ignore[attr-defined]
    token = csrf_cookie(client)
    client.post("/comments", data={"paper_id": TOP, "body": "spam spam", "csrf_token": token})
    comment_id = client.get(f"/api/v1/papers/{TOP}").json()["comments"][0]["id"]
    hide = f"/comments/{comment_id}/hide"
    assert _form_value(client.get(f"/papers/{TOP}").text, hide, "hidden") == "true"
    client.post(hide, data={"hidden": "true", "csrf_token": token})
    client.post("/admin/hide-paper", data={"paper_id": TOP, "hidden": "true", "csrf_token": token})

    page = client.get(f"/papers/{TOP}")
    assert page.headers["cache-control"] == "private, no-store"
    assert '<span class="badge">Hidden</span> An admin hid this paper' in page.text
    assert "Hidden by an admin</span>" in page.text
    assert client.get(f"/api/v1/papers/{TOP}").json()["hidden"] is True
    # The page offers to show both again; the admin sends its forms as they are.
    assert "Unhide this paper (admin)" in page.text
    assert _form_value(page.text, hide, "hidden") == "false"
    for action in (hide, "/admin/hide-paper"):
        fields = {"hidden": _form_value(page.text, action, "hidden"), "csrf_token": token}
        if action == "/admin/hide-paper":
            fields["paper_id"] = _form_value(page.text, action, "paper_id")
        assert client.post(action, data=fields, follow_redirects=False).status_code == 303

    after = client.get(f"/papers/{TOP}").text
    assert "badge" not in after and "Hide this paper from lists (admin)" in after
    client.cookies.clear()
    shown = client.get(f"/papers/{TOP}")
    assert shown.status_code == 200 and "spam spam" in shown.text
    assert "Unhide" not in shown.text and "admin" not in shown.text
    assert TOP in client.get(f"/papers/date/{HF_DAY}").text


def test_a_hidden_paper_never_reaches_readers_through_the_page_cache(site_home: Path) -> None:
    app = create_app(site_settings(site_home, page_cache_s=60))
    with TestClient(app, base_url="http://testserver") as admin:
        sign_up(admin, "boss")
        set_admin(app.state.dp.engine, username="boss", is_admin=True)
        token = csrf_cookie(admin)
        form = {"paper_id": TOP, "hidden": "true", "csrf_token": token}
        admin.post("/admin/hide-paper", data=form)
        assert "Unhide this paper" in admin.get(f"/papers/{TOP}").text
        with TestClient(app, base_url="http://testserver") as reader:
            assert reader.get(f"/papers/{TOP}").status_code == 404
            assert reader.get(f"/api/v1/papers/{TOP}").status_code == 404
            admin.post("/admin/hide-paper", data={**form, "hidden": "false"})
            shown = reader.get(f"/papers/{TOP}")
            assert shown.status_code == 200 and "Unhide" not in shown.text
    app.state.dp.engine.dispose()


def test_a_refused_comment_is_shown_again_in_place_with_its_text(client: TestClient) -> None:
    sign_up(client, "writer")
    token = csrf_cookie(client)
    blank = client.post("/comments", data={"paper_id": TOP, "body": "   ", "csrf_token": token})
    assert blank.status_code == 422
    assert blank.headers["content-type"].startswith("text/html")
    assert "<h1" in blank.text and "Breaking the Memory Barrier" in blank.text
    assert '<p class="error" role="alert" id="comment-body-error">the comment is empty</p>' in (
        blank.text
    )
    assert 'aria-describedby="comment-body-error" autofocus>   </textarea>' in blank.text
    long_text = "Too long <b>& kept</b> " + "x" * 10_000
    too_long = client.post(
        "/comments", data={"paper_id": TOP, "body": long_text, "csrf_token": token}
    )
    assert too_long.status_code == 422 and "(limit 10,000)" in too_long.text
    assert "Too long &lt;b&gt;&amp; kept&lt;/b&gt; xxx" in too_long.text
    assert client.get(f"/api/v1/papers/{TOP}").json()["comments"] == []

    form = {"paper_id": TOP, "body": "First", "csrf_token": token}
    created = client.post("/comments", data=form, follow_redirects=False)
    comment_id = int(created.headers["location"].rsplit("-", 1)[1])
    reply = client.post("/comments", data={**form, "body": "\n ", "parent_id": str(comment_id)})
    assert reply.status_code == 422
    assert f'<p class="error" role="alert" id="reply-{comment_id}-error">' in reply.text
    assert re.search(r"<details open><summary>Reply</summary>", reply.text)
    edit = client.post(f"/comments/{comment_id}/edit", data={"body": "  ", "csrf_token": token})
    assert edit.status_code == 422
    assert f'id="edit-{comment_id}-error">the comment is empty</p>' in edit.text
    assert re.search(r"<details open><summary>Edit</summary>", edit.text)
    assert f'aria-describedby="edit-{comment_id}-error" autofocus>  </textarea>' in edit.text
    comments = client.get(f"/api/v1/papers/{TOP}").json()["comments"]
    assert [c["body"] for c in comments] == ["First"] and comments[0]["replies"] == []


def test_deleting_a_comment_asks_first(client: TestClient) -> None:
    sign_up(client, "writer")
    token = csrf_cookie(client)
    form = {"paper_id": TOP, "body": "Soon *gone*", "csrf_token": token}
    created = client.post("/comments", data=form, follow_redirects=False)
    comment_id = int(created.headers["location"].rsplit("-", 1)[1])
    paper = client.get(f"/papers/{TOP}").text
    assert f'<a href="/comments/{comment_id}/delete" class="delete-comment"' in paper
    assert f'action="/comments/{comment_id}/delete"' not in paper  # no one-click delete
    ask = client.get(f"/comments/{comment_id}/delete")
    assert ask.status_code == 200 and "Delete your comment?" in ask.text
    assert "<em>gone</em>" in ask.text
    assert _form_value(ask.text, f"/comments/{comment_id}/delete", "csrf_token") == token
    assert not client.get(f"/api/v1/papers/{TOP}").json()["comments"][0]["deleted"]
    client.cookies.clear()
    assert client.get(f"/comments/{comment_id}/delete", follow_redirects=False).status_code == 303
    sign_up(client, "someone-else")
    assert client.get(f"/comments/{comment_id}/delete").status_code == 403
    assert client.get("/comments/999999/delete").status_code == 404


def test_search_counts_say_what_they_count(client: TestClient) -> None:
    one = client.get("/search", params={"q": '"near infinite batch size"', "mode": "keyword"})
    assert "1 matching paper ·" in one.text
    many = client.get("/search", params={"q": "contrastive", "mode": "keyword"})
    total = client.get("/api/v1/search", params={"q": "contrastive", "mode": "keyword"}).json()
    assert total["total"] > 20
    assert f"{total['total']} matching papers, showing 1–20 ·" in many.text
    second = client.get("/search", params={"q": "contrastive", "mode": "keyword", "p": 2})
    assert f"{total['total']} matching papers, showing 21–" in second.text


def test_a_search_by_meaning_says_which_results_it_shows(
    tmp_path: Path, shared_data: Path, minilm: Embedder
) -> None:
    # Hybrid and semantic searches rank every paper, so there is no count of matches to give.
    settings = site_settings(tmp_path / "home")
    engine = open_store(settings)
    import_files(engine, [shared_data / HF_SAMPLE])
    build_indexes(engine, settings, embedder=minilm)
    engine.dispose()
    app = create_app(settings)
    with TestClient(app, base_url="http://testserver") as client:
        for mode in ("hybrid", "semantic"):
            query = {"q": "memory use of contrastive training", "mode": mode}
            twin = client.get("/api/v1/search", params=query).json()
            assert twin["total"] is None and twin["notices"] == []
            page = client.get("/search", params=query).text
            shown = len(twin["hits"])
            assert f"Results 1–{shown}, closest first" in page
            assert "matching paper" not in page
    app.state.dp.engine.dispose()


def test_member_pages_need_a_login(client: TestClient) -> None:
    response = client.get("/submit", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=%2Fsubmit"
    login = client.get(response.headers["location"])
    assert 'name="next" value="/submit"' in login.text


def test_every_arxiv_paper_links_to_its_abstract_and_pdf(client: TestClient) -> None:
    # Imported from the arXiv snapshot, which gives no links: the id implies them.
    page = client.get(f"/papers/{SNAPSHOT_PAPER}")
    assert f'<a href="https://arxiv.org/abs/{SNAPSHOT_PAPER}" rel="noopener">arXiv page</a>' in (
        page.text
    )
    assert f'<a href="https://arxiv.org/pdf/{SNAPSHOT_PAPER}" rel="noopener">PDF</a>' in page.text
    links = client.get(f"/api/v1/papers/{SNAPSHOT_PAPER}").json()["paper"]["links"]
    assert links["abs"] == f"https://arxiv.org/abs/{SNAPSHOT_PAPER}"
    assert links["pdf"] == f"https://arxiv.org/pdf/{SNAPSHOT_PAPER}"


def test_latex_text_commands_are_shown_as_text_and_math_is_left_to_katex(
    client: TestClient,
) -> None:
    # Papers of the arXiv snapshot sample, stored as arXiv gives them.
    groebner = client.get("/papers/0704.0019").text
    assert "<title>Approximation for extinction probability of the contact process based on" in (
        groebner
    )
    assert "Gröbner basis" in groebner and 'Gr\\"obner' not in groebner
    assert "<em>Lorentzian</em> path integral" in client.get("/papers/0704.0083").text
    binary = client.get("/papers/0704.0059").text
    assert "$P=2.230736 \\pm 0.000010$ days" in binary  # for KaTeX, as typed
    assert "$ kms, gives a primary" in binary  # an author's own \kms: its name
    twin = client.get("/api/v1/papers/0704.0083").json()["paper"]
    assert "{\\em Lorentzian}" in twin["abstract"]  # the data stays as imported


def test_search_finds_and_marks_words_written_with_latex_accents(client: TestClient) -> None:
    # Indexed as "Gröbner", not as "Gr", "obner": a reader types the word, not the markup.
    page = client.get("/search", params={"q": "grobner basis", "mode": "keyword"})
    assert 'href="/papers/0704.0019"' in page.text
    assert "<mark>Gröbner</mark> <mark>basis</mark>" in page.text
    lorentzian = client.get("/search", params={"q": "Lorentzian path", "mode": "keyword"})
    assert "<em><mark>Lorentzian</mark></em> <mark>path</mark>" in lorentzian.text
