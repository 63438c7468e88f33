"""Saved papers and collections on the site: /saved, making and sharing collections, adding a
paper from a card or a paper page without JavaScript, order and notes, members, exports, the
public collection's page and Atom feed, the JSON API with a token, and importing a library."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from fastapi.testclient import TestClient
from lxml import etree

from dailypapers.web.app import create_app
from tests.web.conftest import csrf_cookie, csrf_from, sign_up, site_settings
from tests.web.test_security import settings_of

PAPERS = ["2410.17243", "2410.16251", "2410.18533", "2410.18693"]
ATOM_NS = {"a": "http://www.w3.org/2005/Atom"}


def _token(client: TestClient, username: str) -> str:
    sign_up(client, username)
    page = client.post(
        "/settings/tokens", data={"name": "script", "csrf_token": csrf_cookie(client)}
    )
    match = re.search(r'<pre class="token">(dp_[^<]+)</pre>', page.text)
    assert match, page.text
    client.cookies.clear()
    return match.group(1)


def _form(client: TestClient, path: str, **fields: str | list[str]) -> str:
    """Post a form as the browser does (CSRF token from the cookie); the redirect target."""
    data = {"csrf_token": csrf_cookie(client), **fields}
    response = client.post(path, data=data, follow_redirects=False)
    assert response.status_code == 303, f"{path}: {response.status_code} {response.text[:500]}"
    return response.headers["location"]


def _create(client: TestClient, name: str, visibility: str = "private") -> tuple[int, str]:
    location = _form(client, "/collections", name=name, visibility=visibility)
    match = re.fullmatch(r"/collections/(\d+)-[a-z0-9-]+", location)
    assert match, location
    return int(match.group(1)), location


def _card_ids(html: str) -> list[str]:
    return re.findall(r'<h3><a href="/papers/([^"]+)"', html)


def test_saved_papers_are_listed(client: TestClient) -> None:
    sign_up(client, "ada")
    assert "Nothing saved yet" in client.get("/saved").text
    for paper_id in PAPERS[:2]:
        _form(client, "/marks", paper_id=paper_id, action="saved", next="/")
    page = client.get("/saved")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "private, no-store"
    assert _card_ids(page.text) == [PAPERS[1], PAPERS[0]]  # latest first
    saved = client.get("/api/v1/saved").json()
    assert saved["total"] == 2 and [p["id"] for p in saved["papers"]] == [PAPERS[1], PAPERS[0]]
    _form(client, "/marks", paper_id=PAPERS[1], action="clear", next="/saved")
    assert _card_ids(client.get("/saved").text) == [PAPERS[0]]
    client.cookies.clear()
    assert client.get("/api/v1/saved").status_code == 401


def test_add_to_collection_from_a_card_and_a_paper_page_without_javascript(
    client: TestClient,
) -> None:
    sign_up(client, "ada")
    first, _ = _create(client, "To read")
    second, _ = _create(client, "Thesis")
    home = client.get("/").text
    assert (
        f'<form method="get" action="/collect" class="collect-form" data-paper="{PAPERS[0]}">'
        in home
    )
    paper_page = client.get(f"/papers/{PAPERS[0]}").text
    assert 'action="/collect"' in paper_page and "Add to collection" in paper_page
    chooser = client.get("/collect", params={"paper_id": PAPERS[0], "next": "/"})
    assert chooser.status_code == 200
    assert chooser.text.count('name="collection"') == 2
    back = _form(
        client,
        "/collect",
        paper_id=PAPERS[0],
        collection=[str(first), str(second)],
        shown=[str(first), str(second)],
        new_name="Reading group",
        next="/",
    )
    assert back == "/"
    mine = client.get("/api/v1/collections", params={"paper_id": PAPERS[0]}).json()
    assert {c["name"]: c["has_paper"] for c in mine["collections"]} == {
        "To read": True,
        "Thesis": True,
        "Reading group": True,
    }
    # Unticking a shown box takes the paper out; others stay as they were.
    _form(
        client,
        "/collect",
        paper_id=PAPERS[0],
        collection=[str(first)],
        shown=[str(first), str(second)],
    )
    holding = client.get("/api/v1/collections", params={"paper_id": PAPERS[0]}).json()
    assert {c["name"]: c["has_paper"] for c in holding["collections"]} == {
        "To read": True,
        "Thesis": False,
        "Reading group": True,
    }
    ticked = client.get("/collect", params={"paper_id": PAPERS[0]}).text
    assert ticked.count(" checked>") == 2


def test_a_collection_keeps_order_and_notes(client: TestClient) -> None:
    sign_up(client, "ada")
    cid, page = _create(client, "Queue")
    for paper_id in PAPERS[:3]:
        _form(client, f"/collections/{cid}/items", paper_id=paper_id)
    _form(client, f"/collections/{cid}/items", paper_id=PAPERS[0])  # twice: once
    assert _card_ids(client.get(page).text) == PAPERS[:3]
    _form(client, f"/collections/{cid}/items/move", paper_id=PAPERS[2], position="1")
    _form(client, f"/collections/{cid}/items/note", paper_id=PAPERS[1], note="read §3 first")
    _form(client, f"/collections/{cid}/items/remove", paper_id=PAPERS[0])
    html = client.get(page).text
    assert _card_ids(html) == [PAPERS[2], PAPERS[1]]
    assert 'value="read §3 first"' in html
    data = client.get(f"/api/v1/collections/{cid}").json()
    assert [(i["paper"]["id"], i["position"], i["note"]) for i in data["items"]] == [
        (PAPERS[2], 1, ""),
        (PAPERS[1], 2, "read §3 first"),
    ]
    assert data["members"] == [
        {"username": "ada", "role": "owner", "added_at": data["members"][0]["added_at"]}
    ]


def test_rename_share_and_delete(client: TestClient) -> None:
    sign_up(client, "ada")
    cid, _ = _create(client, "Drafts")
    location = _form(
        client,
        f"/collections/{cid}/settings",
        name="Good papers",
        visibility="unlisted",
        description="what the group reads",
    )
    assert location == f"/collections/{cid}-good-papers"
    html = client.get(location).text
    link = re.search(r'class="secret-link" readonly aria-label="Secret link" value="([^"]+)"', html)
    assert link and "key=" in link.group(1)
    key = link.group(1).split("key=")[1]
    _form(client, f"/collections/{cid}/link")
    assert key not in client.get(location).text  # a new link replaces the old one
    assert client.get(f"/collections/{cid}/delete").status_code == 200
    assert _form(client, f"/collections/{cid}/delete") == "/collections"
    assert client.get(location).status_code == 404
    _create(client, "x")
    again = client.post("/collections", data={"name": "X", "csrf_token": csrf_cookie(client)})
    assert again.status_code == 409 and "already" in again.text


def test_public_collection_page_feed_and_exports(client: TestClient) -> None:
    sign_up(client, "ada")
    cid, page = _create(client, "Open reading", visibility="public")
    for paper_id in PAPERS[:2]:
        _form(client, f"/collections/{cid}/items", paper_id=paper_id)
    _form(client, f"/collections/{cid}/items/note", paper_id=PAPERS[0], note="=HYPERLINK(1)")
    client.cookies.clear()
    html = client.get(page)
    assert html.status_code == 200 and _card_ids(html.text) == PAPERS[:2]
    assert "=HYPERLINK(1)" in html.text  # notes are part of a public collection
    assert f'href="/feeds/collections/{cid}-open-reading.atom"' in html.text
    listed = client.get("/collections").text
    assert "Open reading" in listed and "/users/ada/collections" in listed
    assert client.get("/api/v1/users/ada/collections").json()["collections"][0]["id"] == cid

    feed = client.get(f"/feeds/collections/{cid}-open-reading.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    root = etree.fromstring(feed.content)
    links = root.xpath("a:entry/a:link[@rel='alternate']/@href", namespaces=ATOM_NS)
    assert sorted(link.rsplit("/", 1)[1] for link in links) == sorted(PAPERS[:2])
    assert "Open reading" in root.findtext("a:title", namespaces=ATOM_NS)

    bib = client.get(f"{page}/export.bib")
    assert bib.headers["content-type"].startswith("application/x-bibtex")
    assert bib.headers["content-disposition"] == 'attachment; filename="open-reading.bib"'
    assert bib.text.count("@") == 2 and f"eprint = {{{PAPERS[0]}}}" in bib.text
    rows = list(csv.DictReader(io.StringIO(client.get(f"{page}/export.csv").text)))
    assert [row["id"] for row in rows] == PAPERS[:2]
    assert rows[0]["note"] == "'=HYPERLINK(1)"  # a spreadsheet shows it, never runs it
    ris = client.get(f"{page}/export.ris").text
    assert ris.count("TY  - ") == 2 and f"N1  - arXiv:{PAPERS[0]}" in ris


def test_editors_share_a_collection(client: TestClient, site_home: Path) -> None:
    sign_up(client, "bob")
    client.cookies.clear()
    sign_up(client, "ada")
    cid, page = _create(client, "Group")
    _form(client, f"/collections/{cid}/members", username="bob")
    client.cookies.clear()
    sign_up_again = client.post(
        "/login",
        data={"username": "bob", "password": "correct horse battery",
              "csrf_token": csrf_from(client.get("/login").text)},
        follow_redirects=False,
    )  # fmt: skip
    assert sign_up_again.status_code == 303
    assert "Group" in client.get("/collections").text
    _form(client, f"/collections/{cid}/items", paper_id=PAPERS[0])
    settings = client.post(
        f"/collections/{cid}/settings",
        data={"name": "Mine now", "visibility": "public", "csrf_token": csrf_cookie(client)},
    )
    assert settings.status_code == 403
    assert _form(client, f"/collections/{cid}/members/remove", username="bob") == "/collections"
    assert client.get(page).status_code == 404  # private again to bob
    del site_home


def test_the_json_api_with_a_token(client: TestClient) -> None:
    auth = {"Authorization": f"Bearer {_token(client, 'scripter')}"}
    made = client.post(
        "/api/v1/collections", json={"name": "API list", "visibility": "public"}, headers=auth
    )
    assert made.status_code == 201
    cid = made.json()["id"]
    for paper_id in PAPERS[:3]:
        added = client.post(
            f"/api/v1/collections/{cid}/items", json={"paper_id": paper_id}, headers=auth
        )
        assert added.json() == {"paper_id": paper_id, "added": True}
    again = client.post(
        f"/api/v1/collections/{cid}/items", json={"paper_id": f"arXiv:{PAPERS[0]}v2"}, headers=auth
    )
    assert again.json() == {"paper_id": PAPERS[0], "added": False}
    moved = client.patch(
        f"/api/v1/collections/{cid}/items/{PAPERS[2]}",
        json={"position": 1, "note": "start here"},
        headers=auth,
    )
    assert moved.status_code == 204
    assert (
        client.delete(f"/api/v1/collections/{cid}/items/{PAPERS[1]}", headers=auth).status_code
        == 204
    )
    missing = client.delete(f"/api/v1/collections/{cid}/items/{PAPERS[1]}", headers=auth)
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "paper_id"
    items = client.get(f"/api/v1/collections/{cid}").json()["items"]
    assert [(i["paper"]["id"], i["note"]) for i in items] == [
        (PAPERS[2], "start here"),
        (PAPERS[0], ""),
    ]
    renamed = client.patch(f"/api/v1/collections/{cid}", json={"name": "Renamed"}, headers=auth)
    assert renamed.json()["name"] == "Renamed" and renamed.json()["url"].endswith("-renamed")
    unknown = client.post(
        f"/api/v1/collections/{cid}/items", json={"paper_id": "2410.99999"}, headers=auth
    )
    assert unknown.status_code == 404
    report = client.post(
        f"/api/v1/collections/{cid}/import",
        json={"text": f"{PAPERS[3]}\nhttps://arxiv.org/abs/{PAPERS[0]}v1\nnot an id\n"},
        headers=auth,
    ).json()
    assert (report["format"], report["matched"], report["failed"]) == ("ids", 2, 1)
    assert (report["added"], report["already_there"]) == (1, 1)
    assert (
        report["entries"][0]["reason"]
        == "'not an id' is not an arXiv id, a DOI or a URL naming one"
    )
    assert client.delete(f"/api/v1/collections/{cid}", headers=auth).status_code == 204
    assert client.get(f"/api/v1/collections/{cid}").status_code == 404


def test_importing_a_library_through_the_form(client: TestClient, shared_data: Path) -> None:
    sign_up(client, "ada")
    form = client.get("/library/import")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
    bib = (
        f"@misc{{a, title={{Some title}}, eprint={{{PAPERS[0]}}}, archivePrefix={{arXiv}}}}\n"
        "@misc{b, title={A paper nobody stored}, year={2021}}\n"
        "@misc{c, author={Nobody}}\n"
    ).encode()
    data = {"csrf_token": csrf_cookie(client), "collection": "new", "new_name": "My library"}
    report = client.post("/library/import", data=data, files={"file": ("mine.bib", bib)})
    assert report.status_code == 200
    text = re.sub(r"\s+", " ", report.text)
    assert "<strong>1</strong> matched" in text and "<strong>1</strong> unmatched" in text
    assert "<strong>1</strong> failed" in text and "entry c (line 3)" in text
    assert "2 added to the collection" in text
    mine = client.get("/api/v1/collections").json()["collections"]
    cid = next(c["id"] for c in mine if c["name"] == "My library")
    data = {"csrf_token": csrf_cookie(client), "collection": str(cid)}
    again = client.post("/library/import", data=data, files={"file": ("mine.bib", bib)})
    again_text = re.sub(r"\s+", " ", again.text)
    assert "0 added to the collection, 2 there already" in again_text
    empty = client.post("/library/import", data=data, files={"file": ("", b"")})
    assert empty.status_code == 422 and "choose a file or paste your library" in empty.text
    del shared_data


def test_a_library_larger_than_the_body_limit_imports(
    client: TestClient, shared_data: Path
) -> None:
    bib = (shared_data / "bibtex" / "d2l.bib").read_bytes()  # 488 entries, 148 KB
    assert len(bib) > settings_of(client).max_body_bytes
    sign_up(client, "reader")
    assert "File or pasted text (up to 10 MB here" in client.get("/library/import").text
    data = {"csrf_token": csrf_cookie(client), "collection": "new", "new_name": "D2L"}
    report = client.post("/library/import", data=data, files={"file": ("d2l.bib", bib)})
    assert report.status_code == 200, report.text[:300]
    text = re.sub(r"\s+", " ", report.text)
    assert "<strong>5</strong> matched" in text and "<strong>483</strong> unmatched" in text
    assert "<strong>0</strong> failed" in text and "476 added to the collection" in text
    # Pasted, past the 1 MB a form field may hold by default: one id a line, 1.1 MB.
    pasted = f"{PAPERS[0]}\n" * 100_000
    data = {"csrf_token": csrf_cookie(client), "collection": "new", "text": pasted}
    report = client.post("/library/import", data=data, files={"file": ("", b"")})
    assert report.status_code == 200, report.text[-300:]
    assert "<strong>100000</strong> matched" in re.sub(r"\s+", " ", report.text)
    # Any other form keeps the small limit.
    comment = {"paper_id": PAPERS[0], "body": "x" * len(bib), "csrf_token": csrf_cookie(client)}
    assert client.post("/comments", data=comment).status_code == 413


def test_a_library_over_the_upload_limit_is_refused_naming_it(
    site_home: Path, shared_data: Path
) -> None:
    bib = (shared_data / "bibtex" / "d2l.bib").read_bytes()
    app = create_app(site_settings(site_home, max_upload_bytes=128 * 1024))
    with TestClient(app, base_url="http://testserver") as small:
        auth = {"Authorization": f"Bearer {_token(small, 'reader')}"}
        cid = small.post("/api/v1/collections", json={"name": "L"}, headers=auth).json()["id"]
        api = small.post(
            f"/api/v1/collections/{cid}/import", json={"text": bib.decode()}, headers=auth
        )
        message = (
            "the upload is larger than 128 KB, the most this site takes at once "
            "(DAILYPAPERS_MAX_UPLOAD_BYTES): import a larger library with "
            "`dailypapers library import`"
        )
        assert api.status_code == 413 and api.json()["error"]["message"] == message
        sign_up(small, "writer")
        data = {"csrf_token": csrf_cookie(small), "collection": "new"}
        page = small.post("/library/import", data=data, files={"file": ("d2l.bib", bib)})
        assert page.status_code == 413 and "the upload is larger than 128 KB" in page.text
        assert page.headers["content-type"].startswith("text/html")
    app.state.dp.engine.dispose()
