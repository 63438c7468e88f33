"""Account care in the store, on SQLite and a real PostgreSQL server: single-use expiring
tokens, password and address changes, disabling, deleting an account in one transaction, the
export, and migration 0011 on a database made before it."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from dailypapers.config import Settings
from dailypapers.store.account_data import delete_account, export_account
from dailypapers.store.account_tokens import (
    confirm_email_change,
    issue_account_token,
    reset_password,
    token_user_id,
)
from dailypapers.store.accounts import (
    EmailTaken,
    change_password,
    create_api_token,
    create_session,
    create_user,
    email_taken,
    get_credentials,
    get_session_user,
    get_token_user,
    get_user,
    list_users,
    set_disabled,
    users_with_email,
)
from dailypapers.store.collections import add_member, add_papers, create_collection
from dailypapers.store.comments import add_comment, list_comments
from dailypapers.store.engine import create_db_engine, open_store
from dailypapers.store.follows import follow
from dailypapers.store.marks import set_mark
from dailypapers.store.migrate import upgrade_database
from dailypapers.store.outbox import OutboxMessage, queue_message
from dailypapers.store.papers import get_paper, upsert_papers
from dailypapers.store.schema import (
    account_tokens,
    api_tokens,
    collection_items,
    collection_members,
    collections,
    follows,
    metadata,
    outbox,
    paper_marks,
    subscriptions,
    user_sessions,
    users,
    votes,
)
from dailypapers.store.submissions import submit_paper
from dailypapers.store.subscriptions import Preferences, save_subscription
from dailypapers.store.votes import record_vote
from tests.store.test_papers import arxiv_record, located

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _user(engine: sa.Engine, name: str, email: str | None = None) -> int:
    return create_user(engine, username=name, password_hash="old", email=email, now=NOW).user_id


def _issue(engine: sa.Engine, user_id: int, token: str, **extra: object) -> bool:
    values: dict[str, object] = {
        "purpose": "reset",
        "now": NOW,
        "expires_at": NOW + HOUR,
        "not_since": NOW - timedelta(minutes=5),
    }
    values.update(extra)
    issued = issue_account_token(engine, user_id=user_id, token_hash=token, **values)  # type: ignore[arg-type]
    return issued.stored


def _session(engine: sa.Engine, user_id: int, token: str) -> None:
    create_session(engine, user_id=user_id, token_hash=token, now=NOW, expires_at=NOW + 10 * HOUR)


def test_a_reset_token_works_once_and_ends_every_session(engine: sa.Engine) -> None:
    ada = _user(engine, "ada", "ada@example.org")
    _session(engine, ada, "s1")
    _session(engine, ada, "s2")
    assert _issue(engine, ada, "tok")
    assert token_user_id(engine, token_hash="tok", purpose="reset", now=NOW) == ada
    assert reset_password(engine, token_hash="tok", password_hash="new", now=NOW) == ada
    creds = get_credentials(engine, username="ada")
    assert creds is not None and creds.password_hash == "new"
    assert get_session_user(engine, token_hash="s1", now=NOW) is None
    assert get_session_user(engine, token_hash="s2", now=NOW) is None
    # Used: a second try changes nothing.
    assert reset_password(engine, token_hash="tok", password_hash="again", now=NOW) is None
    assert token_user_id(engine, token_hash="tok", purpose="reset", now=NOW) is None
    creds = get_credentials(engine, username="ada")
    assert creds is not None and creds.password_hash == "new"


def test_a_reset_token_expires_and_serves_only_its_purpose(engine: sa.Engine) -> None:
    ada = _user(engine, "ada", "ada@example.org")
    assert _issue(engine, ada, "tok")
    later = NOW + HOUR
    assert reset_password(engine, token_hash="tok", password_hash="new", now=later) is None
    assert confirm_email_change(engine, token_hash="tok", now=NOW) is None  # a reset token
    assert reset_password(engine, token_hash="unknown", password_hash="new", now=NOW) is None
    creds = get_credentials(engine, username="ada")
    assert creds is not None and creds.password_hash == "old"


def test_racing_resets_with_one_token_succeed_once(engine: sa.Engine) -> None:
    ada = _user(engine, "ada", "ada@example.org")
    assert _issue(engine, ada, "tok")
    results: list[int | None] = []
    barrier = threading.Barrier(6)

    def use(n: int) -> None:
        barrier.wait()
        results.append(reset_password(engine, token_hash="tok", password_hash=f"p{n}", now=NOW))

    threads = [threading.Thread(target=use, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results, key=lambda r: r is None) == [ada] + [None] * 5


def test_tokens_are_throttled_per_account_and_purpose(engine: sa.Engine) -> None:
    ada = _user(engine, "ada")
    assert _issue(engine, ada, "t1")
    assert not _issue(engine, ada, "t2")  # a minute later: nothing new
    assert _issue(engine, ada, "t3", purpose="email", new_email="a@new.example.org")
    later = NOW + timedelta(minutes=6)
    assert _issue(engine, ada, "t4", now=later, expires_at=later + HOUR, not_since=NOW)
    with engine.connect() as conn:
        stored = set(conn.execute(sa.select(account_tokens.c.token_hash)).scalars())
    assert stored == {"t1", "t3", "t4"}


def test_an_address_changes_only_when_its_link_is_followed(engine: sa.Engine) -> None:
    ada = _user(engine, "ada", "ada@old.example.org")
    assert _issue(engine, ada, "tok", purpose="email", new_email="ada@new.example.org")
    user = get_user(engine, user_id=ada)
    assert user is not None and user.email == "ada@old.example.org"
    change = confirm_email_change(engine, token_hash="tok", now=NOW)
    assert change is not None and change.user_id == ada
    assert (change.old_email, change.new_email) == ("ada@old.example.org", "ada@new.example.org")
    user = get_user(engine, user_id=ada)
    assert user is not None and user.email == "ada@new.example.org"
    assert confirm_email_change(engine, token_hash="tok", now=NOW) is None


def test_an_address_another_account_uses_is_refused_when_confirmed(engine: sa.Engine) -> None:
    ada = _user(engine, "ada", "ada@example.org")
    bob = _user(engine, "bob", "bob@example.org")
    assert email_taken(engine, email="BOB@example.org", user_id=ada)
    assert not email_taken(engine, email="bob@example.org", user_id=bob)  # one's own
    # The link was mailed before bob took the address (or while his change was pending).
    assert _issue(engine, ada, "tok", purpose="email", new_email="Bob@Example.org")
    with pytest.raises(EmailTaken, match="Bob@Example.org"):
        confirm_email_change(engine, token_hash="tok", now=NOW)
    user = get_user(engine, user_id=ada)
    assert user is not None and user.email == "ada@example.org"
    # Once bob moves elsewhere the link still works.
    with engine.begin() as conn:
        conn.execute(sa.update(users).where(users.c.user_id == bob).values(email="b@x.org"))
    change = confirm_email_change(engine, token_hash="tok", now=NOW)
    assert change is not None and change.new_email == "Bob@Example.org"


def test_two_accounts_confirming_one_address_at_once_get_it_once(engine: sa.Engine) -> None:
    # Twelve at once: without the address lock, PostgreSQL let two of them through in two
    # runs out of three.
    accounts = [_user(engine, f"user{n}", f"user{n}@example.org") for n in range(12)]
    for user_id in accounts:
        assert _issue(engine, user_id, f"tok{user_id}", purpose="email", new_email="x@example.org")
    barrier = threading.Barrier(len(accounts))
    outcomes: list[str] = []

    def confirm(user_id: int) -> None:
        barrier.wait()
        try:
            confirm_email_change(engine, token_hash=f"tok{user_id}", now=NOW)
            outcomes.append("changed")
        except EmailTaken:
            outcomes.append("taken")

    threads = [threading.Thread(target=confirm, args=(u,)) for u in accounts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["changed"] + ["taken"] * 11
    assert len(users_with_email(engine, email="x@example.org")) == 1


def test_twelve_sign_ups_with_one_address_at_once_make_one_account(engine: sa.Engine) -> None:
    # Like the address change above: each checks the address under its lock. Without it,
    # PostgreSQL let several sign-ups through.
    barrier = threading.Barrier(12)
    outcomes: list[str] = []

    def sign_up(number: int) -> None:
        barrier.wait()
        try:
            create_user(
                engine,
                username=f"twin{number}",
                password_hash="x",
                email="Twin@example.org",
                now=NOW,
            )
            outcomes.append("created")
        except EmailTaken:
            outcomes.append("taken")

    threads = [threading.Thread(target=sign_up, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["created"] + ["taken"] * 11
    assert len(users_with_email(engine, email="twin@example.org")) == 1
    assert list_users(engine, offset=0, limit=20)[1] == 1  # the refused left no account behind


def test_changing_the_password_keeps_only_the_session_that_asked(engine: sa.Engine) -> None:
    ada, bob = _user(engine, "ada"), _user(engine, "bob")
    for token in ("here", "phone", "laptop"):
        _session(engine, ada, token)
    _session(engine, bob, "bobs")
    change_password(engine, user_id=ada, password_hash="new", keep_session="here")
    assert get_session_user(engine, token_hash="here", now=NOW) is not None
    assert get_session_user(engine, token_hash="phone", now=NOW) is None
    assert get_session_user(engine, token_hash="laptop", now=NOW) is None
    assert get_session_user(engine, token_hash="bobs", now=NOW) is not None


def test_a_disabled_account_has_no_sessions_tokens_or_resets(engine: sa.Engine) -> None:
    ada = _user(engine, "ada", "ada@example.org")
    _session(engine, ada, "s1")
    create_api_token(engine, user_id=ada, token_hash="api", name="script", now=NOW)
    assert _issue(engine, ada, "tok")
    assert set_disabled(engine, user_id=ada, disabled=True, now=NOW)
    assert get_session_user(engine, token_hash="s1", now=NOW) is None
    assert get_token_user(engine, token_hash="api") is None
    assert users_with_email(engine, email="ADA@example.org") == []
    assert reset_password(engine, token_hash="tok", password_hash="new", now=NOW) is None
    creds = get_credentials(engine, username="ada")
    assert creds is not None and creds.disabled
    [row], total = list_users(engine, offset=0, limit=50)
    assert total == 1 and row.disabled_at is not None and row.last_login_at == NOW
    assert set_disabled(engine, user_id=ada, disabled=False, now=NOW)
    assert get_token_user(engine, token_hash="api") is not None
    assert not set_disabled(engine, user_id=9999, disabled=True, now=NOW)


def test_users_are_listed_a_page_at_a_time(engine: sa.Engine) -> None:
    for n in range(7):
        _user(engine, f"user{n}")
    first, total = list_users(engine, offset=0, limit=5)
    second, _ = list_users(engine, offset=5, limit=5)
    assert total == 7
    assert [u.username for u in [*first, *second]] == [f"user{n}" for n in range(7)]


def _papers(engine: sa.Engine) -> None:
    records = [
        arxiv_record(paper_id=f"2501.0000{n}", title=f"Paper {n}", daily_date=date(2025, 1, 2))
        for n in range(1, 5)
    ]
    records.append(arxiv_record(paper_id="2501.00005", title="Paper 5"))  # on no list yet
    upsert_papers(engine, located(*records), now=NOW)


def _full_account(engine: sa.Engine) -> tuple[int, int]:
    """ada with a bit of everything; bob, an editor of one of her collections."""
    _papers(engine)
    ada, bob = _user(engine, "ada", "ada@example.org"), _user(engine, "bob")
    record_vote(engine, user_id=ada, paper_id="2501.00001", now=NOW)
    record_vote(engine, user_id=bob, paper_id="2501.00001", now=NOW)
    set_mark(engine, user_id=ada, paper_id="2501.00002", mark="saved", now=NOW)
    alone = create_collection(engine, owner_id=ada, name="Mine", now=NOW, visibility="public")
    add_papers(
        engine,
        collection_id=alone.collection_id,
        paper_ids=["2501.00003"],
        added_by=ada,
        now=NOW,
        note="read twice",
    )
    shared = create_collection(engine, owner_id=ada, name="Group", now=NOW)
    add_member(engine, collection_id=shared.collection_id, user_id=bob, now=NOW)
    add_papers(
        engine, collection_id=shared.collection_id, paper_ids=["2501.00004"], added_by=ada, now=NOW
    )
    create_collection(engine, owner_id=bob, name="group", now=NOW)  # the name Group takes
    bobs = create_collection(engine, owner_id=bob, name="Bob's", now=NOW)
    add_member(engine, collection_id=bobs.collection_id, user_id=ada, now=NOW)
    add_papers(
        engine, collection_id=bobs.collection_id, paper_ids=["2501.00001"], added_by=ada, now=NOW
    )
    comment = add_comment(
        engine, paper_id="2501.00001", user_id=ada, body="Nice", body_html="<p>Nice</p>", now=NOW
    )
    add_comment(
        engine,
        paper_id="2501.00001",
        user_id=bob,
        body="Agreed",
        body_html="<p>Agreed</p>",
        now=NOW,
        parent_id=comment.comment_id,
    )
    follow(engine, user_id=ada, kind="category", target="cs.LG", label="cs.LG", now=NOW)
    save_subscription(
        engine, email="ada@example.org", preferences=Preferences(), now=NOW, user_id=ada
    )
    submit_paper(
        engine, paper_id="2501.00005", user_id=ada, username="ada", day=date(2025, 1, 3), now=NOW
    )
    _session(engine, ada, "s1")
    create_api_token(engine, user_id=ada, token_hash="api", name="script", now=NOW)
    assert _issue(engine, ada, "tok")
    message = OutboxMessage(
        message_key="reset:x",
        kind="account",
        subscription_id=None,
        user_id=ada,
        recipient="ada@example.org",
        subject="s",
        body_text="t",
        body_html="h",
        headers={},
    )
    assert queue_message(engine, message=message, now=NOW)
    return ada, bob


def _count(engine: sa.Engine, table: sa.Table, condition: sa.ColumnElement[bool]) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).select_from(table).where(condition)
            ).scalar_one()
        )


def test_deleting_an_account_removes_everything_it_says(engine: sa.Engine) -> None:
    ada, bob = _full_account(engine)
    before = get_paper(engine, paper_id="2501.00001")
    assert before is not None and before.local_votes == 2
    assert delete_account(engine, user_id=ada, now=NOW)
    after = get_paper(engine, paper_id="2501.00001")
    assert after is not None and (after.local_votes, after.score) == (1, before.score - 1)
    for table in (votes, paper_marks, follows, user_sessions, api_tokens, account_tokens, outbox):
        assert _count(engine, table, table.c.user_id == ada) == 0, table.name
    assert _count(engine, collection_members, collection_members.c.user_id == ada) == 0
    assert _count(engine, subscriptions, subscriptions.c.email == "ada@example.org") == 0
    # Owned alone: gone. Shared: bob owns it now. Bob's own: ada's paper stays, uncredited.
    with engine.connect() as conn:
        owned = dict(conn.execute(sa.select(collections.c.name, collections.c.owner_id)).all())
        credited = conn.execute(
            sa.select(sa.func.count()).where(collection_items.c.added_by == ada)
        ).scalar_one()
        row = conn.execute(sa.select(users).where(users.c.user_id == ada)).mappings().one()
    assert owned == {"Group (2)": bob, "group": bob, "Bob's": bob}
    assert credited == 0
    assert (row["username"], row["email"], row["password_hash"]) == ("[deleted]", None, "")
    # Comments stay, by "[deleted]", with their replies.
    thread = list_comments(engine, paper_id="2501.00001")
    assert [(c.username, c.body) for c in thread] == [("[deleted]", "Nice")]
    assert [(r.username, r.body) for r in thread[0].replies] == [("bob", "Agreed")]
    submitted = get_paper(engine, paper_id="2501.00005")
    assert submitted is not None and submitted.submitted_by is None
    # The name is free again, the placeholder cannot log in, and a second delete does nothing.
    assert get_credentials(engine, username="ada") is None
    _user(engine, "ada")
    assert not delete_account(engine, user_id=ada, now=NOW)
    assert get_user(engine, user_id=bob) is not None


def test_the_export_holds_everything_but_secrets(engine: sa.Engine) -> None:
    ada, _ = _full_account(engine)
    data = export_account(engine, user_id=ada)
    assert data is not None
    assert data["account"]["username"] == "ada" and "password_hash" not in data["account"]
    assert data["account"]["notifications_in_digest"] is False  # the reader's own setting
    assert [v["paper_id"] for v in data["votes"]] == ["2501.00001"]
    assert [(m["paper_id"], m["mark"]) for m in data["marks"]] == [("2501.00002", "saved")]
    by_name = {c["name"]: c for c in data["collections"]}
    assert set(by_name) == {"Mine", "Group", "Bob's"}
    assert by_name["Mine"]["papers"][0]["note"] == "read twice"
    assert by_name["Bob's"]["role"] == "editor"
    assert [c["body"] for c in data["comments"]] == ["Nice"]
    assert [s["paper_id"] for s in data["submissions"]] == ["2501.00005"]
    assert [f["target"] for f in data["follows"]] == ["cs.LG"]
    assert data["subscription"]["email"] == "ada@example.org"
    assert data["api_tokens"] == [
        {"name": "script", "created_at": data["api_tokens"][0]["created_at"]}
    ]
    assert "old" not in repr(data) and "api" not in {t["name"] for t in data["api_tokens"]}


def test_migration_0011_upgrades_a_database_made_before_it(settings: Settings) -> None:
    engine = create_db_engine(settings)
    upgrade_database(engine, "0010")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO users (username, username_key, password_hash, is_admin, created_at)"
                " VALUES ('ada', 'ada', 'h', false, :now)"
            ),
            {"now": NOW},
        )
    engine.dispose()
    store = open_store(settings)
    try:
        with store.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("users")}
            outbox_columns = {c["name"]: c for c in sa.inspect(conn).get_columns("outbox")}
        assert {"last_login_at", "disabled_at", "deleted_at"} <= columns
        assert outbox_columns["subscription_id"]["nullable"] and "user_id" in outbox_columns
        creds = get_credentials(store, username="ada")
        assert creds is not None and not creds.disabled
        from alembic.autogenerate import compare_metadata
        from alembic.runtime.migration import MigrationContext

        with store.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "include_name": lambda n, t, *_: (
                        not (t == "table" and (n or "").startswith("procrastinate_"))
                    )
                },
            )
            assert compare_metadata(context, metadata) == []
    finally:
        store.dispose()


@pytest.mark.parametrize("purpose", ["reset", "email"])
def test_tokens_go_with_their_account(engine: sa.Engine, purpose: str) -> None:
    ada = _user(engine, "ada")
    assert _issue(engine, ada, "tok", purpose=purpose, new_email="x@example.org")
    assert delete_account(engine, user_id=ada, now=NOW)
    assert _count(engine, account_tokens, account_tokens.c.user_id == ada) == 0
