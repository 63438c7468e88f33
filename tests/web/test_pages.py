"""What a reader and a member see and do on the site, through an in-process client."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from dailypapers.store.accounts import set_admin
from tests.web.conftest import csrf_cookie, csrf_from, sign_up

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


def test_member_pages_need_a_login(client: TestClient) -> None:
    response = client.get("/submit", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=%2Fsubmit"
    login = client.get(response.headers["location"])
    assert 'name="next" value="/submit"' in login.text
