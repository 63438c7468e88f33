"""Account care through the real app: change password and address, reset a forgotten password
from the mail a real SMTP server receives, export, delete, and the admin's list of users; with
the security rules (single-use expiring links, one answer for every address, CSRF, disabled
accounts, admins only)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from dailypapers.store.accounts import get_credentials, set_admin
from dailypapers.store.schema import account_tokens, outbox
from dailypapers.web.app import create_app
from tests.smtp_server import SmtpServer
from tests.web.conftest import PASSWORD, csrf_from, site_settings

LINK = re.compile(r"https?://testserver(/[^\s\"<>]+)")
NEW_PASSWORD = "a much better passphrase"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def _client(home: Path, **overrides: object) -> TestClient:
    return TestClient(create_app(site_settings(home, **overrides)), base_url="http://testserver")


@pytest.fixture
def mail_client(site_home: Path, smtp: SmtpServer) -> Iterator[TestClient]:
    with _client(
        site_home,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_security="none",
        digest_hour_utc=-1,
        public_url="http://testserver",
    ) as client:
        yield client
    client.app.state.dp.engine.dispose()  # type: ignore[attr-defined]


def _engine(client: TestClient) -> sa.Engine:
    engine: sa.Engine = client.app.state.dp.engine  # type: ignore[attr-defined]
    return engine


def _sign_up(client: TestClient, name: str, email: str | None = None) -> None:
    page = client.get("/signup")
    form = {"username": name, "password": PASSWORD, "csrf_token": csrf_from(page.text)}
    if email:
        form["email"] = email
    assert client.post("/signup", data=form, follow_redirects=False).status_code == 303


def _log_in(client: TestClient, name: str, password: str) -> int:
    page = client.get("/login")
    form = {"username": name, "password": password, "csrf_token": csrf_from(page.text)}
    return client.post("/login", data=form, follow_redirects=False).status_code


def _post(client: TestClient, page: str, action: str, **fields: str) -> tuple[int, str]:
    token = csrf_from(client.get(page).text)
    response = client.post(action, data={**fields, "csrf_token": token})
    return response.status_code, response.text


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


def _token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["t"][0]


def _forgot(client: TestClient, email: str) -> tuple[int, str]:
    return _post(client, "/password/forgot", "/password/forgot", email=email)


def _reset(client: TestClient, url: str, password: str) -> tuple[int, str]:
    page = client.get(url)
    if page.status_code != 200:
        return page.status_code, page.text
    form = {"t": _token(url), "password": password, "csrf_token": csrf_from(page.text)}
    response = client.post("/password/reset", data=form)
    return response.status_code, response.text


def test_a_forgotten_password_is_reset_once_from_the_mailed_link(
    mail_client: TestClient, smtp: SmtpServer
) -> None:
    _sign_up(mail_client, "ada", "ada@example.org")
    mail_client.cookies.clear()
    status, page = _forgot(mail_client, "ADA@example.org")
    assert status == 200 and "Check your inbox" in page
    [message] = smtp.mailbox.to("ada@example.org")
    assert "Reset your" in message["Subject"] and "1 hour" in _text(message)
    url = _link(message, "/password/reset")
    assert _reset(mail_client, url, NEW_PASSWORD)[0] == 200
    assert _log_in(mail_client, "ada", PASSWORD) == 401
    assert _log_in(mail_client, "ada", NEW_PASSWORD) == 303
    # Used once: the link is dead, and so is the form posted again.
    mail_client.cookies.clear()
    assert mail_client.get(url).status_code == 404
    form = {"t": _token(url), "password": "yet another password"}
    page = mail_client.get("/password/forgot")
    form["csrf_token"] = csrf_from(page.text)
    assert mail_client.post("/password/reset", data=form).status_code == 404
    # The sent message no longer holds the link in the outbox.
    with _engine(mail_client).connect() as conn:
        bodies = conn.execute(sa.select(outbox.c.body_text).where(outbox.c.kind == "account"))
        assert _token(url) not in " ".join(bodies.scalars())


def test_the_answer_is_the_same_whether_or_not_the_address_has_an_account(
    mail_client: TestClient, smtp: SmtpServer
) -> None:
    _sign_up(mail_client, "ada", "ada@example.org")
    mail_client.cookies.clear()
    known = _forgot(mail_client, "ada@example.org")
    unknown = _forgot(mail_client, "nobody@example.org")
    strip = re.compile(r'value="[^"]*"|content="[^"]*"')
    assert known[0] == unknown[0] == 200
    assert strip.sub("", known[1]) == strip.sub("", unknown[1])
    assert smtp.mailbox.to("nobody@example.org") == []
    # Asked again at once: the same answer, and no second mail.
    assert strip.sub("", _forgot(mail_client, "ada@example.org")[1]) == strip.sub("", known[1])
    assert len(smtp.mailbox.to("ada@example.org")) == 1
    assert _forgot(mail_client, "not an address")[0] == 422


def test_an_expired_reset_link_is_refused(mail_client: TestClient, smtp: SmtpServer) -> None:
    _sign_up(mail_client, "ada", "ada@example.org")
    mail_client.cookies.clear()
    _forgot(mail_client, "ada@example.org")
    url = _link(smtp.mailbox.to("ada@example.org")[0], "/password/reset")
    with _engine(mail_client).begin() as conn:
        past = datetime.now(UTC) - timedelta(seconds=1)
        conn.execute(sa.update(account_tokens).values(expires_at=past))
    assert _reset(mail_client, url, NEW_PASSWORD)[0] == 404
    assert _log_in(mail_client, "ada", PASSWORD) == 303


def test_a_reset_ends_every_session_and_a_bad_password_keeps_the_link(
    mail_client: TestClient, smtp: SmtpServer
) -> None:
    _sign_up(mail_client, "ada", "ada@example.org")
    assert mail_client.get("/settings/account").status_code == 200
    session = mail_client.cookies.get("dp_session")
    mail_client.cookies.clear()
    _forgot(mail_client, "ada@example.org")
    url = _link(smtp.mailbox.to("ada@example.org")[0], "/password/reset")
    status, page = _reset(mail_client, url, "short")
    assert status == 422 and "at least 8 characters" in page
    assert _reset(mail_client, url, NEW_PASSWORD)[0] == 200
    assert session
    mail_client.cookies.set("dp_session", session)
    assert mail_client.get("/settings/account", follow_redirects=False).status_code == 303


def test_changing_the_password_needs_the_current_one_and_ends_other_sessions(
    site_home: Path, client: TestClient
) -> None:
    _sign_up(client, "ada")
    with _client(site_home) as other:
        assert _log_in(other, "ada", PASSWORD) == 303
        page = "/settings/account"
        status, text = _post(
            client,
            page,
            "/settings/password",
            current_password="wrong one!",
            new_password=NEW_PASSWORD,
        )
        assert status == 403 and "wrong password" in text
        status, text = _post(
            client, page, "/settings/password", current_password=PASSWORD, new_password="short"
        )
        assert status == 422 and "at least 8 characters" in text
        status, text = _post(
            client, page, "/settings/password", current_password=PASSWORD, new_password=NEW_PASSWORD
        )
        assert status == 200 and "Password changed" in text
        assert client.get(page).status_code == 200  # this session goes on
        assert other.get(page, follow_redirects=False).status_code == 303  # the other ended
        other.app.state.dp.engine.dispose()  # type: ignore[attr-defined]
    assert _log_in(client, "ada", NEW_PASSWORD) == 303


def test_a_new_address_is_used_only_once_its_link_is_followed(
    mail_client: TestClient, smtp: SmtpServer
) -> None:
    _sign_up(mail_client, "ada", "ada@old.example.org")
    page = "/settings/account"
    status, text = _post(
        mail_client, page, "/settings/email", email="ada@new.example.org", password="wrong one!"
    )
    assert status == 403 and smtp.mailbox.messages == []
    status, text = _post(
        mail_client, page, "/settings/email", email="ada@new.example.org", password=PASSWORD
    )
    assert status == 200 and "ada@new.example.org" in text
    [message] = smtp.mailbox.to("ada@new.example.org")
    url = _link(message, "/settings/email/confirm")
    # Until confirmed the old address is the account's: a reset goes there.
    assert "ada@old.example.org" in mail_client.get(page).text
    confirm = mail_client.get(url)  # opening the link changes nothing
    assert confirm.status_code == 200 and "ada@old.example.org" in mail_client.get(page).text
    done = mail_client.post(
        "/settings/email/confirm", data={"t": _token(url), "csrf_token": csrf_from(confirm.text)}
    )
    assert done.status_code == 200 and "ada@new.example.org" in done.text
    [notice] = smtp.mailbox.to("ada@old.example.org")  # the old address is told
    assert "ada@new.example.org" in _text(notice) and "http" not in _text(notice)
    assert "ada@new.example.org" in mail_client.get(page).text
    again = mail_client.post(
        "/settings/email/confirm", data={"t": _token(url), "csrf_token": csrf_from(confirm.text)}
    )
    assert again.status_code == 404


def test_an_address_another_account_uses_is_refused_on_asking_and_on_confirming(
    mail_client: TestClient, smtp: SmtpServer
) -> None:
    page = "/settings/account"

    def ask(email: str) -> tuple[int, str]:
        return _post(mail_client, page, "/settings/email", email=email, password=PASSWORD)

    def confirm(url: str) -> tuple[int, str]:
        token = csrf_from(mail_client.get(url).text)
        done = mail_client.post(
            "/settings/email/confirm", data={"t": _token(url), "csrf_token": token}
        )
        return done.status_code, done.text

    _sign_up(mail_client, "bob", "bob@example.org")
    mail_client.cookies.clear()
    _sign_up(mail_client, "ada", "ada@example.org")
    status, text = ask("BOB@example.org")
    assert status == 409 and smtp.mailbox.messages == []
    assert (
        '<p class="error" role="alert" id="email-error">email: the address '
        "&#39;BOB@example.org&#39; is used by another account</p>"
    ) in text
    # Both ask for a free address; the second to confirm finds it taken.
    assert ask("new@example.org")[0] == 200
    mail_client.cookies.clear()
    assert _log_in(mail_client, "bob", PASSWORD) == 303
    assert ask("new@example.org")[0] == 200
    adas, bobs = (_link(m, "/settings/email/confirm") for m in smtp.mailbox.to("new@example.org"))
    assert confirm(bobs)[0] == 200
    status, text = confirm(adas)
    assert status == 409 and "new@example.org&#39; is used by another account" in text
    assert "new@example.org" in mail_client.get(page).text  # bob's changed
    mail_client.cookies.clear()
    assert _log_in(mail_client, "ada", PASSWORD) == 303
    assert "ada@example.org" in mail_client.get(page).text  # ada's stayed


def test_sign_up_refuses_an_address_another_account_uses_and_one_that_is_not_an_address(
    client: TestClient,
) -> None:
    _sign_up(client, "bob", "bob@example.org")
    client.cookies.clear()

    def sign_up(name: str, email: str) -> tuple[int, str]:
        token = csrf_from(client.get("/signup").text)
        form = {"username": name, "password": PASSWORD, "email": email, "csrf_token": token}
        done = client.post("/signup", data=form, follow_redirects=False)
        return done.status_code, done.text

    status, text = sign_up("ada", " BOB@Example.org ")
    assert status == 409
    assert "email: the address &#39;BOB@Example.org&#39; is used by another account" in text
    assert 'value="ada"' in text and 'value=" BOB@Example.org "' in text  # kept as typed
    status, text = sign_up("ada", "not an address")
    assert status == 422 and "not an email address" in text
    with _engine(client).connect() as conn:
        names = conn.execute(sa.text("SELECT username FROM users ORDER BY username")).scalars()
        assert list(names) == ["bob"]  # neither refusal stored an account
    assert sign_up("ada", "ada@example.org")[0] == 303


def test_mail_forms_without_a_public_address_answer_503(site_home: Path, smtp: SmtpServer) -> None:
    with _client(
        site_home,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_security="none",
        allowed_hosts="*",
    ) as client:
        status, text = _forgot(client, "ada@example.org")
        assert status == 503 and "no public URL configured" in text
        page = client.get("/subscribe")
        form = {"email": "ada@example.org", "include_trending": "true"}
        response = client.post("/subscribe", data={**form, "csrf_token": csrf_from(page.text)})
        assert response.status_code == 503 and "no public URL configured" in response.text
        client.app.state.dp.engine.dispose()  # type: ignore[attr-defined]
    assert smtp.mailbox.messages == []


@pytest.mark.parametrize(
    ("action", "fields"),
    [
        ("/settings/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
        ("/settings/email", {"email": "x@example.org", "password": PASSWORD}),
        ("/settings/delete", {"password": PASSWORD}),
        ("/admin/users/1/disabled", {"disabled": "true"}),
        ("/password/forgot", {"email": "x@example.org"}),
        ("/password/reset", {"t": "x", "password": NEW_PASSWORD}),
    ],
)
def test_every_new_form_refuses_a_missing_csrf_token(
    client: TestClient, action: str, fields: dict[str, str]
) -> None:
    _sign_up(client, "ada")
    response = client.post(action, data=fields)
    assert response.status_code == 403 and "CSRF" in response.text
    assert _log_in(client, "ada", PASSWORD) == 303  # nothing changed
    if action.startswith("/password/"):
        client.cookies.clear()  # refused without a session too
        client.get("/password/forgot")
        assert client.post(action, data=fields).status_code == 403


def test_a_disabled_user_cannot_log_in_and_is_logged_out(
    site_home: Path, client: TestClient
) -> None:
    _sign_up(client, "boss")
    set_admin(_engine(client), username="boss", is_admin=True)
    with _client(site_home) as victim:
        _sign_up(victim, "ada")
        creds = get_credentials(_engine(client), username="ada")
        assert creds is not None
        page = client.get("/admin/users")
        assert page.status_code == 200 and 'visually-hidden"> ada</span>' in page.text
        assert "never" not in page.text  # signing up counts as a login
        form = {"disabled": "true", "csrf_token": csrf_from(page.text)}
        done = client.post(f"/admin/users/{creds.user.user_id}/disabled", data=form)
        assert done.status_code == 200 and "disabled" in done.text
        assert victim.get("/settings/account", follow_redirects=False).status_code == 303
        victim.cookies.clear()
        assert _log_in(victim, "ada", "wrong password") == 401  # no hint without the password
        assert _log_in(victim, "ada", PASSWORD) == 403
        listed = client.get("/api/v1/admin/users").json()
        [row] = [u for u in listed["users"] if u["username"] == "ada"]
        assert row["disabled_at"] is not None and listed["total"] == 2
        form["disabled"] = "false"
        client.post(f"/admin/users/{creds.user.user_id}/disabled", data=form)
        assert _log_in(victim, "ada", PASSWORD) == 303
        victim.app.state.dp.engine.dispose()  # type: ignore[attr-defined]
    me = get_credentials(_engine(client), username="boss")
    assert me is not None
    refused = client.post(
        f"/admin/users/{me.user.user_id}/disabled", data=form | {"disabled": "true"}
    )
    assert refused.status_code == 409


def test_only_admins_see_the_list_of_users(client: TestClient) -> None:
    assert client.get("/admin/users", follow_redirects=False).status_code == 303  # log in
    assert client.get("/api/v1/admin/users").status_code == 401
    _sign_up(client, "ada")
    assert client.get("/admin/users").status_code == 403
    assert client.get("/api/v1/admin/users").status_code == 403
    page = client.get("/settings/account")
    form = {"disabled": "true", "csrf_token": csrf_from(page.text)}
    assert client.post("/admin/users/1/disabled", data=form).status_code == 403


def test_the_export_downloads_everything_but_the_password(client: TestClient) -> None:
    _sign_up(client, "ada", "ada@example.org")
    page = client.get("/papers/2410.17243")
    csrf = csrf_from(page.text)
    client.post("/api/v1/votes", json={"paper_id": "2410.17243"}, headers={"x-csrf-token": csrf})
    download = client.get("/settings/export")
    assert download.status_code == 200
    assert download.headers["content-disposition"] == 'attachment; filename="dailypapers-ada.json"'
    assert "no-store" in download.headers["cache-control"]
    data = orjson.loads(download.content)
    assert data["account"]["email"] == "ada@example.org"
    assert [v["paper_id"] for v in data["votes"]] == ["2410.17243"]
    assert "password" not in download.text and "$argon2" not in download.text
    # The API twin with a token.
    tokens = client.get("/settings/tokens")
    made = client.post("/settings/tokens", data={"name": "s", "csrf_token": csrf_from(tokens.text)})
    token = re.search(r"dp_[A-Za-z0-9_-]+", made.text)
    assert token
    client.cookies.clear()
    api = client.get(
        "/api/v1/account/export", headers={"authorization": f"Bearer {token.group(0)}"}
    )
    assert api.status_code == 200 and api.json()["votes"] == data["votes"]
    assert client.get("/api/v1/account/export").status_code == 401


def test_deleting_needs_the_password_and_leaves_comments_as_deleted(client: TestClient) -> None:
    _sign_up(client, "ada")
    page = client.get("/papers/2410.17243")
    csrf = csrf_from(page.text)
    client.post("/api/v1/votes", json={"paper_id": "2410.17243"}, headers={"x-csrf-token": csrf})
    client.post("/comments", data={"paper_id": "2410.17243", "body": "Lovely", "csrf_token": csrf})
    before = client.get("/api/v1/papers/2410.17243").json()
    status, text = _post(client, "/settings/delete", "/settings/delete", password="wrong one!")
    assert status == 403
    status, text = _post(client, "/settings/delete", "/settings/delete", password=PASSWORD)
    assert status == 200 and "deleted" in text
    assert client.cookies.get("dp_session") is None
    after = client.get("/api/v1/papers/2410.17243").json()
    assert after["paper"]["score"] == before["paper"]["score"] - 1
    assert [c["author"] for c in after["comments"]] == ["[deleted]"]
    paper = client.get("/papers/2410.17243").text
    assert "Lovely" in paper and "[deleted]" in paper and "/users/ada" not in paper
    assert "/users/[deleted]" not in paper
    assert client.get("/users/ada").status_code == 404
    assert _log_in(client, "ada", PASSWORD) == 401
    _sign_up(client, "ada")  # the name is free again
