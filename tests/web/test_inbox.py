"""Subscriptions on the site: double opt-in, signed links, one-click unsubscribe, the settings
page, For you and marks, the admin's outbox; with a real SMTP server receiving the mail."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from dailypapers.digest.service import run_digests
from dailypapers.digest.tokens import LinkSigner
from dailypapers.store.accounts import set_admin
from dailypapers.store.lists import latest_list_date
from dailypapers.store.subscriptions import (
    Preferences,
    get_subscription_by_email,
    save_subscription,
)
from dailypapers.web.app import create_app
from tests.smtp_server import SmtpServer
from tests.web.conftest import csrf_cookie, csrf_from, sign_up, site_settings

LINK = re.compile(r"https?://testserver(/[^\s\"<>]+)")


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def mail_client(site_home: Path, smtp: SmtpServer) -> Iterator[TestClient]:
    settings = site_settings(
        site_home,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_security="none",
        digest_hour_utc=-1,
        digest_retry_s=0,
        public_url="http://testserver",
    )
    app = create_app(settings)
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client
    app.state.dp.engine.dispose()


def _text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content


def _link(message: EmailMessage, path: str) -> str:
    found = [url for url in LINK.findall(_text(message)) if url.startswith(path)]
    assert found, f"no {path} link in the message"
    return found[0]


def _subscribe(client: TestClient, email: str, **fields: str) -> str:
    page = client.get("/subscribe")
    form = {"email": email, "include_trending": "true", "csrf_token": csrf_from(page.text)}
    response = client.post("/subscribe", data=form | fields)
    return (
        response.text if response.status_code == 200 else f"{response.status_code}: {response.text}"
    )


def _confirm(client: TestClient, smtp: SmtpServer, email: str) -> None:
    confirmation = [m for m in smtp.mailbox.to(email) if "Confirm" in m["Subject"]][-1]
    url = _link(confirmation, "/subscribe/confirm")
    page = client.get(url)
    assert page.status_code == 200 and "Confirm" in page.text
    query = dict(part.split("=", 1) for part in urlsplit(url).query.split("&"))
    done = client.post("/subscribe/confirm", data={**query, "csrf_token": csrf_from(page.text)})
    assert done.status_code == 200 and "Subscribed" in done.text


def _digests(client: TestClient) -> None:
    state = client.app.state.dp  # type: ignore[attr-defined]
    run_digests(state.engine, state.settings, day=latest_list_date(state.engine))


def test_nothing_but_the_confirmation_is_sent_before_its_link_is_followed(
    mail_client: TestClient, smtp: SmtpServer
) -> None:
    assert "Check your inbox" in _subscribe(mail_client, "ada@example.org")
    [confirmation] = smtp.mailbox.messages
    assert confirmation["Subject"] == "Confirm your dailypapers subscription"
    assert confirmation.get_body(("html",)) is not None
    _digests(mail_client)
    assert len(smtp.mailbox.messages) == 1  # still pending: no digest
    _subscribe(mail_client, "ada@example.org")  # asking again within 10 minutes sends nothing new
    assert len(smtp.mailbox.messages) == 1
    _confirm(mail_client, smtp, "ada@example.org")
    _digests(mail_client)
    digest = smtp.mailbox.messages[-1]
    assert digest["To"] == "ada@example.org" and "4 papers for Fri 25 Oct 2024" in digest["Subject"]


def test_links_cannot_be_forged_or_reused_for_another_address(
    mail_client: TestClient, smtp: SmtpServer
) -> None:
    _subscribe(mail_client, "ada@example.org")
    _subscribe(mail_client, "bob@example.org")
    ada_link = _link(smtp.mailbox.to("ada@example.org")[0], "/subscribe/confirm")
    query = dict(part.split("=", 1) for part in urlsplit(ada_link).query.split("&"))
    other = str(int(query["s"]) + 1)
    assert mail_client.get(f"/subscribe/confirm?s={other}&t={query['t']}").status_code == 404
    assert mail_client.get(f"/unsubscribe?s={query['s']}&t={query['t']}").status_code == 404
    tampered = query["t"][:-2] + ("AA" if not query["t"].endswith("AA") else "BB")
    assert mail_client.get(f"/subscribe/confirm?s={query['s']}&t={tampered}").status_code == 404
    response = mail_client.post(
        f"/unsubscribe?s={query['s']}&t={tampered}", data={"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")


def test_one_click_unsubscribe_works_without_a_login(
    mail_client: TestClient, smtp: SmtpServer
) -> None:
    _subscribe(mail_client, "ada@example.org")
    _confirm(mail_client, smtp, "ada@example.org")
    _digests(mail_client)
    digest = smtp.mailbox.messages[-1]
    url = digest["List-Unsubscribe"].strip("<>")
    path = urlsplit(url).path + "?" + urlsplit(url).query
    assert url in _text(digest)
    engine = mail_client.app.state.dp.engine  # type: ignore[attr-defined]
    # Opening the link (a mail scanner does) only asks; the POST of RFC 8058 unsubscribes.
    assert "Unsubscribe" in mail_client.get(path).text
    assert get_subscription_by_email(engine, email="ada@example.org").status == "active"  # type: ignore[union-attr]
    provider = TestClient(mail_client.app, base_url="http://testserver")
    response = provider.post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and "Unsubscribed" in response.text
    assert get_subscription_by_email(engine, email="ada@example.org").status == "unsubscribed"  # type: ignore[union-attr]
    before = len(smtp.mailbox.messages)
    state = mail_client.app.state.dp  # type: ignore[attr-defined]
    later = latest_list_date(state.engine) + timedelta(days=1)  # type: ignore[operator]
    run_digests(state.engine, state.settings, day=later)
    assert len(smtp.mailbox.messages) == before


def test_form_errors_name_the_field(mail_client: TestClient) -> None:
    assert _subscribe(mail_client, "not-an-address").startswith("422")
    assert "not an email address" in _subscribe(mail_client, "not-an-address")
    bad_search = _subscribe(mail_client, "ada@example.org", searches="diffusion\nfrom:yesterday")
    assert bad_search.startswith("422") and "line 2" in bad_search
    bad_category = _subscribe(mail_client, "ada@example.org", categories="cs.CL, <b>")
    assert bad_category.startswith("422") and "not an arXiv category" in bad_category
    nothing = _subscribe(mail_client, "ada@example.org", include_trending="")
    assert nothing.startswith("422") and "choose at least one" in nothing


def test_an_anonymous_form_cannot_change_an_active_subscription(
    mail_client: TestClient, smtp: SmtpServer
) -> None:
    _subscribe(mail_client, "ada@example.org", categories="cs.CL")
    _confirm(mail_client, smtp, "ada@example.org")
    answer = _subscribe(mail_client, "ada@example.org", categories="cs.CV")
    assert answer.startswith("409") and "subscribed already" in answer
    engine = mail_client.app.state.dp.engine  # type: ignore[attr-defined]
    saved = get_subscription_by_email(engine, email="ada@example.org")
    assert saved is not None and saved.preferences.categories == ("cs.CL",)


def test_the_manage_link_changes_preferences_and_a_new_address_is_confirmed_again(
    mail_client: TestClient, smtp: SmtpServer
) -> None:
    _subscribe(mail_client, "ada@example.org")
    _confirm(mail_client, smtp, "ada@example.org")
    _digests(mail_client)
    manage = _link(smtp.mailbox.messages[-1], "/subscription")
    page = mail_client.get(manage)
    assert page.status_code == 200 and 'value="ada@example.org"' in page.text
    form = {"email": "ada@example.org", "frequency": "weekly", "include_trending": "true"}
    saved = mail_client.post(manage, data=form | {"csrf_token": csrf_from(page.text)})
    assert saved.status_code == 200 and "updated" in saved.text
    engine = mail_client.app.state.dp.engine  # type: ignore[attr-defined]
    current = get_subscription_by_email(engine, email="ada@example.org")
    assert current is not None and current.preferences.frequency == "weekly"
    moved = mail_client.post(manage, data=form | {"email": "ada@new.example.org",
                                                   "csrf_token": csrf_from(page.text)})  # fmt: skip
    assert "Check your inbox" in moved.text
    assert [m["Subject"] for m in smtp.mailbox.to("ada@new.example.org")] == [
        "Confirm your dailypapers subscription"
    ]
    assert mail_client.get(manage).status_code == 404  # signed for the old address


def test_settings_page_for_signed_in_readers_and_its_json_twin(mail_client: TestClient) -> None:
    sign_up(mail_client, "reader")
    assert mail_client.get("/api/v1/subscription").status_code == 404
    page = mail_client.get("/settings/subscription")
    assert page.status_code == 200 and "For you" in page.text
    form = {
        "email": "reader@example.org",
        "frequency": "daily",
        "include_for_you": "true",
        "skip_weekends": "true",
        "categories": "cs.CL cs.LG",
        "searches": '"language model" -survey\nauthor:hinton',
        "csrf_token": csrf_cookie(mail_client),
    }
    assert "Check your inbox" in mail_client.post("/subscribe", data=form).text
    twin = mail_client.get("/api/v1/subscription").json()
    assert twin["status"] == "pending" and twin["include_for_you"] and twin["skip_weekends"]
    assert twin["categories"] == ["cs.CL", "cs.LG"]
    assert twin["searches"] == ['"language model" -survey', "author:hinton"]
    assert 'value="reader@example.org"' in mail_client.get("/settings/subscription").text


def test_for_you_needs_an_account_and_marks_change_it(mail_client: TestClient) -> None:
    anonymous = mail_client.get("/for-you", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    assert mail_client.get("/api/v1/for-you").status_code == 401
    sign_up(mail_client, "reader")
    twin = mail_client.get("/api/v1/for-you").json()
    assert twin["mode"] == "popular" and twin["items"]
    page = mail_client.get("/for-you")
    assert page.status_code == 200 and "Why:" in page.text
    first = twin["items"][0]["paper"]["id"]
    token = csrf_cookie(mail_client)
    done = mail_client.post(
        "/marks", data={"paper_id": first, "action": "not_interested", "csrf_token": token},
        follow_redirects=False,
    )  # fmt: skip
    assert done.status_code == 303
    after = mail_client.get("/api/v1/for-you").json()
    assert first not in [item["paper"]["id"] for item in after["items"]]
    second = after["items"][0]["paper"]["id"]
    saved = mail_client.post("/api/v1/marks", json={"paper_id": second, "mark": "saved"},
                             headers={"x-csrf-token": token})  # fmt: skip
    assert saved.json() == {"paper_id": second, "mark": "saved"}
    assert mail_client.get(f"/api/v1/papers/{second}").json()["mark"] == "saved"
    assert ">Saved<" in mail_client.get(f"/papers/{second}").text
    missing = mail_client.post("/api/v1/marks", json={"paper_id": "9999.99999", "mark": "saved"},
                               headers={"x-csrf-token": token})  # fmt: skip
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "paper_id"


def test_for_you_reaches_back_when_the_newest_lists_hold_too_few_papers(
    client: TestClient,
) -> None:
    # Every seeded list is from 2024 or earlier; one paper submitted today makes today the
    # newest list day, and the 14 days up to it hold that paper alone; its submitter upvotes
    # it, so it is no pick for them.
    sign_up(client, "submitter")
    older = client.get("/api/v1/papers/date/2007-04-02").json()["papers"][0]["id"]
    token = csrf_cookie(client)
    done = client.post("/submit", data={"paper": older, "csrf_token": token},
                       follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    voted = client.post("/vote", data={"paper_id": older, "csrf_token": token},
                        follow_redirects=False)  # fmt: skip
    assert voted.status_code == 303
    twin = client.get("/api/v1/for-you").json()
    today = datetime.now(UTC).date()
    assert twin["last_day"] == today.isoformat()
    assert len(twin["items"]) == 30
    assert older not in [item["paper"]["id"] for item in twin["items"]]
    first = date.fromisoformat(twin["first_day"])
    assert first < today - timedelta(days=13)
    assert any("reach back to the list of" in notice for notice in twin["notices"])
    picked = {date.fromisoformat(item["paper"]["list_date"]) for item in twin["items"]}
    assert min(picked) >= first
    html = client.get("/for-you").text
    assert f"Picked from the lists of {first:%d %b %Y} to {today:%d %b %Y}" in html


def test_admins_see_failed_messages(mail_client: TestClient, smtp: SmtpServer) -> None:
    smtp.mailbox.rcpt_replies["gone@example.org"] = "550 5.1.1 no such mailbox"
    _subscribe(mail_client, "gone@example.org")
    sign_up(mail_client, "boss")
    assert mail_client.get("/admin/outbox").status_code == 403
    engine = mail_client.app.state.dp.engine  # type: ignore[attr-defined]
    set_admin(engine, username="boss", is_admin=True)
    twin = mail_client.get("/api/v1/admin/outbox").json()
    assert twin["counts"]["failed"] == 1
    [problem] = twin["problems"]
    assert problem["recipient"] == "gone@example.org" and "550" in problem["last_error"]
    assert "no such mailbox" in mail_client.get("/admin/outbox").text


def test_without_smtp_the_form_says_so(client: TestClient) -> None:
    page = client.get("/subscribe")
    assert "does not send email" in page.text
    form = {
        "email": "ada@example.org",
        "include_trending": "true",
        "csrf_token": csrf_from(page.text),
    }
    assert client.post("/subscribe", data=form).status_code == 503


def test_subscription_pages_are_never_served_from_the_page_cache(
    site_home: Path, smtp: SmtpServer
) -> None:
    mail = {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_security": "none"}
    settings = site_settings(site_home, page_cache_s=60, digest_hour_utc=-1, **mail)
    app = create_app(settings)
    with TestClient(app, base_url="http://testserver") as client:
        _subscribe(client, "ada@example.org", categories="cs.CL")
        link = _link(smtp.mailbox.messages[0], "/subscribe/confirm")
        query = urlsplit(link).query
        engine = app.state.dp.engine
        saved = get_subscription_by_email(engine, email="ada@example.org")
        assert saved is not None
        signer = LinkSigner.for_site(engine, settings)
        manage = signer.link("http://testserver", "manage", saved.subscription_id, saved.email)
        assert "cs.CL" in client.get(manage).text
        # Another node changes it (this node's cache is not told).
        save_subscription(engine, email="ada@example.org", now=saved.created_at,
                          preferences=Preferences(categories=("cs.RO",)),
                          subscription_id=saved.subscription_id)  # fmt: skip
        assert "cs.RO" in client.get(manage).text
        assert client.get(f"/subscribe/confirm?{query}").status_code == 200
    app.state.dp.engine.dispose()
