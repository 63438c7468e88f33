"""Accounts, votes, comments, submissions and lists on SQLite and a real PostgreSQL server."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from dailypapers.models import PaperRecord, SourceName
from dailypapers.ranking.hotness import hotness
from dailypapers.store.accounts import (
    UsernameTaken,
    create_session,
    create_user,
    forget_login_attempt,
    get_credentials,
    get_session_user,
    start_login_attempt,
)
from dailypapers.store.comments import (
    NotAuthor,
    add_comment,
    delete_comment,
    edit_comment,
    list_comments,
    recount_comments,
    set_comment_hidden,
)
from dailypapers.store.lists import (
    list_period_papers,
    list_trending_papers,
    nearest_list_dates,
    set_paper_hidden,
)
from dailypapers.store.papers import get_paper, upsert_papers
from dailypapers.store.schema import comments, login_failures, papers, user_sessions, votes
from dailypapers.store.submissions import AlreadyListed, submit_paper
from dailypapers.store.votes import PaperMissing, record_vote, withdraw_vote
from tests.store.test_papers import arxiv_record, located

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _store_papers(engine: sa.Engine) -> None:
    records = [
        arxiv_record(
            paper_id="2501.00001", title="First paper", upvotes=5, daily_date=date(2025, 1, 2)
        ),
        arxiv_record(
            paper_id="2501.00002", title="Second paper", upvotes=1, daily_date=date(2025, 1, 2)
        ),
        arxiv_record(
            paper_id="2501.00003",
            title="Third paper",
            published=datetime(2025, 1, 9, 18, 0, tzinfo=UTC),
        ),
    ]
    upsert_papers(engine, located(*records), now=NOW)


def _user(engine: sa.Engine, name: str) -> int:
    return create_user(engine, username=name, password_hash="x", email=None, now=NOW).user_id


def test_usernames_are_unique_whatever_the_case(engine: sa.Engine) -> None:
    create_user(engine, username="Alice", password_hash="h", email=None, now=NOW)
    with pytest.raises(UsernameTaken):
        create_user(engine, username="alice", password_hash="h2", email=None, now=NOW)
    creds = get_credentials(engine, username="ALICE")
    assert creds is not None and creds.user.username == "Alice" and creds.password_hash == "h"


def test_sessions_expire(engine: sa.Engine) -> None:
    user_id = _user(engine, "bob")
    create_session(engine, user_id=user_id, token_hash="t1", now=NOW, expires_at=NOW + timedelta(1))
    assert get_session_user(engine, token_hash="t1", now=NOW) is not None
    assert get_session_user(engine, token_hash="t1", now=NOW + timedelta(2)) is None
    assert get_session_user(engine, token_hash="other", now=NOW) is None


def test_import_sets_list_day_score_and_hotness(engine: sa.Engine) -> None:
    _store_papers(engine)
    first = get_paper(engine, paper_id="2501.00001")
    third = get_paper(engine, paper_id="2501.00003")
    assert first is not None and third is not None
    assert first.list_date == date(2025, 1, 2) and first.score == 5
    assert third.list_date == date(2025, 1, 9)  # no daily list: its publication day
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(papers.c.hotness).where(papers.c.paper_id == "2501.00001")
        ).scalar_one()
    assert stored == pytest.approx(hotness(5, datetime(2025, 1, 2, tzinfo=UTC)))


def test_a_vote_counts_once_and_moves_score_and_hotness_together(engine: sa.Engine) -> None:
    _store_papers(engine)
    alice, bob = _user(engine, "alice"), _user(engine, "bob")
    first = record_vote(engine, user_id=alice, paper_id="2501.00002", now=NOW)
    again = record_vote(engine, user_id=alice, paper_id="2501.00002", now=NOW)
    assert (first.score, first.local_votes) == (2, 1) and (again.score, again.local_votes) == (2, 1)
    assert record_vote(engine, user_id=bob, paper_id="2501.00002", now=NOW).score == 3
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(papers.c.hotness).where(papers.c.paper_id == "2501.00002")
        ).scalar_one()
    assert stored == pytest.approx(hotness(3, datetime(2025, 1, 2, tzinfo=UTC)))
    withdrawn = withdraw_vote(engine, user_id=alice, paper_id="2501.00002")
    assert (withdrawn.score, withdrawn.voted) == (2, False)
    assert withdraw_vote(engine, user_id=alice, paper_id="2501.00002").score == 2
    with pytest.raises(PaperMissing):
        record_vote(engine, user_id=alice, paper_id="2501.99999", now=NOW)


def test_concurrent_votes_are_counted_exactly(engine: sa.Engine) -> None:
    _store_papers(engine)
    users = [_user(engine, f"user{n}") for n in range(8)]
    barrier = threading.Barrier(16)
    errors: list[BaseException] = []

    def vote(user_id: int) -> None:
        barrier.wait()
        try:
            record_vote(engine, user_id=user_id, paper_id="2501.00003", now=NOW)
        except BaseException as error:  # surfaced below
            errors.append(error)

    # Every user votes twice at the same moment: 16 requests, 8 votes.
    threads = [threading.Thread(target=vote, args=(u,)) for u in users + users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    paper = get_paper(engine, paper_id="2501.00003")
    assert paper is not None and (paper.score, paper.local_votes) == (8, 8)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(sa.func.count()).select_from(votes)).scalar_one()
    assert rows == 8


def test_reimport_keeps_local_votes(engine: sa.Engine) -> None:
    _store_papers(engine)
    record_vote(engine, user_id=_user(engine, "alice"), paper_id="2501.00001", now=NOW)
    later = NOW + timedelta(hours=1)
    upsert_papers(
        engine,
        located(arxiv_record(paper_id="2501.00001", title="First paper", upvotes=9)),
        now=later,
    )
    paper = get_paper(engine, paper_id="2501.00001")
    assert paper is not None and (paper.upvotes, paper.local_votes, paper.score) == (9, 1, 10)


def test_comments_thread_one_level_and_only_authors_change_them(engine: sa.Engine) -> None:
    _store_papers(engine)
    alice, bob = _user(engine, "alice"), _user(engine, "bob")

    def post(user: int, body: str, parent: int | None = None) -> int:
        comment = add_comment(
            engine, paper_id="2501.00001", user_id=user, body=body, body_html=body, now=NOW,
            parent_id=parent,
        )  # fmt: skip
        return comment.comment_id

    top = post(alice, "top")
    reply = post(bob, "reply", top)
    nested = post(alice, "reply to reply", reply)
    threads = list_comments(engine, paper_id="2501.00001")
    assert [c.comment_id for c in threads] == [top]
    assert [r.comment_id for r in threads[0].replies] == [reply, nested]
    with pytest.raises(NotAuthor):
        edit_comment(engine, comment_id=top, user_id=bob, body="x", body_html="x", now=NOW)
    with pytest.raises(NotAuthor):
        delete_comment(engine, comment_id=top, user_id=bob)
    edited = edit_comment(
        engine, comment_id=top, user_id=alice, body="new", body_html="new", now=NOW
    )
    assert edited.body == "new" and edited.edited_at is not None
    delete_comment(engine, comment_id=top, user_id=alice)
    threads = list_comments(engine, paper_id="2501.00001")
    assert threads[0].deleted and threads[0].body == "" and len(threads[0].replies) == 2
    set_comment_hidden(engine, comment_id=reply, hidden=True)
    assert [r.comment_id for r in list_comments(engine, paper_id="2501.00001")[0].replies] == [
        nested
    ]
    paper = get_paper(engine, paper_id="2501.00001")
    # Only the nested reply is left to read: the top comment is deleted, the reply hidden.
    assert paper is not None and paper.local_comments == 1


def _comment_count(engine: sa.Engine, paper_id: str = "2501.00001") -> int:
    paper = get_paper(engine, paper_id=paper_id)
    assert paper is not None
    return paper.local_comments


def test_the_comment_count_counts_only_what_readers_see(engine: sa.Engine) -> None:
    _store_papers(engine)
    alice, bob = _user(engine, "alice"), _user(engine, "bob")

    def post(user: int, parent: int | None = None) -> int:
        comment = add_comment(
            engine, paper_id="2501.00001", user_id=user, body="b", body_html="b", now=NOW,
            parent_id=parent,
        )  # fmt: skip
        return comment.comment_id

    spam, top = post(bob), post(alice)
    reply = post(bob, top)
    assert _comment_count(engine) == 3
    assert set_comment_hidden(engine, comment_id=spam, hidden=True)
    assert _comment_count(engine) == 2
    assert set_comment_hidden(engine, comment_id=spam, hidden=True)  # again: no double count
    assert _comment_count(engine) == 2
    # Hiding a thread hides its replies from readers too.
    set_comment_hidden(engine, comment_id=top, hidden=True)
    assert _comment_count(engine) == 0
    set_comment_hidden(engine, comment_id=top, hidden=False)
    assert _comment_count(engine) == 2
    # A hidden comment its author deletes was not counted: the count stays.
    delete_comment(engine, comment_id=spam, user_id=bob)
    assert _comment_count(engine) == 2
    delete_comment(engine, comment_id=reply, user_id=bob)
    assert _comment_count(engine) == 1
    assert not set_comment_hidden(engine, comment_id=99999, hidden=True)
    assert _comment_count(engine, "2501.00002") == 0


def test_stored_comment_counts_that_count_hidden_comments_are_corrected(
    engine: sa.Engine,
) -> None:
    _store_papers(engine)
    alice = _user(engine, "alice")
    for body in ("one", "two"):
        add_comment(
            engine, paper_id="2501.00001", user_id=alice, body=body, body_html=body, now=NOW
        )
    # As the count was kept before: a hidden comment still counted.
    with engine.begin() as conn:
        conn.execute(sa.update(comments).where(comments.c.body == "two").values(hidden=True))
    assert _comment_count(engine) == 2
    assert recount_comments(engine) == 1
    assert _comment_count(engine) == 1
    assert recount_comments(engine) == 0


def test_a_paper_is_submitted_to_a_list_once(engine: sa.Engine) -> None:
    _store_papers(engine)
    alice, bob = _user(engine, "alice"), _user(engine, "bob")
    day = date(2026, 11, 23)
    paper = submit_paper(
        engine, paper_id="2501.00003", user_id=alice, username="alice", day=day, now=NOW
    )
    assert paper.list_date == day and paper.submitted_by == "alice"
    with pytest.raises(AlreadyListed, match="2026-11-23"):
        submit_paper(engine, paper_id="2501.00003", user_id=bob, username="bob", day=day, now=NOW)
    with pytest.raises(AlreadyListed, match="2025-01-02"):  # already on Hugging Face's list
        submit_paper(engine, paper_id="2501.00001", user_id=bob, username="bob", day=day, now=NOW)


def test_period_lists_sort_hide_and_point_to_the_nearest_days(engine: sa.Engine) -> None:
    _store_papers(engine)
    found, total = list_period_papers(
        engine, start=date(2025, 1, 1), end=date(2025, 2, 1), limit=10
    )
    assert [p.paper_id for p in found] == ["2501.00001", "2501.00002", "2501.00003"] and total == 3
    newest, _ = list_period_papers(
        engine, start=date(2025, 1, 1), end=date(2025, 2, 1), limit=10, sort="published"
    )
    assert newest[0].paper_id == "2501.00003"
    set_paper_hidden(engine, paper_id="2501.00001", hidden=True)
    found, total = list_period_papers(
        engine, start=date(2025, 1, 2), end=date(2025, 1, 3), limit=10
    )
    assert [p.paper_id for p in found] == ["2501.00002"] and total == 1
    assert nearest_list_dates(engine, day=date(2025, 1, 5)) == (date(2025, 1, 2), date(2025, 1, 9))
    assert nearest_list_dates(engine, day=date(2030, 1, 1)) == (date(2025, 1, 9), None)


def test_hf_record_without_upvotes_keeps_them(engine: sa.Engine) -> None:
    record = PaperRecord(source=SourceName.HF_DAILY, paper_id="2501.00009", title="T", upvotes=4)
    upsert_papers(engine, located(record), now=NOW)
    upsert_papers(engine, located(arxiv_record(paper_id="2501.00009", title="T")), now=NOW)
    paper = get_paper(engine, paper_id="2501.00009")
    assert paper is not None and paper.score == 4


def test_trending_prefers_newer_days_unless_votes_are_tenfold(engine: sa.Engine) -> None:
    _store_papers(engine)  # 5 and 1 upvotes on Jan 2; 0 on Jan 9
    order = [p.paper_id for p in list_trending_papers(engine, limit=10)]
    assert order == ["2501.00003", "2501.00001", "2501.00002"]


def test_expired_sessions_and_old_login_failures_are_pruned(engine: sa.Engine) -> None:
    user_id = _user(engine, "carol")
    create_session(engine, user_id=user_id, token_hash="old", now=NOW, expires_at=NOW)
    later = NOW + timedelta(days=1)
    create_session(
        engine, user_id=user_id, token_hash="new", now=later, expires_at=later + timedelta(1)
    )
    with engine.connect() as conn:
        hashes = set(conn.execute(sa.select(user_sessions.c.token_hash)).scalars())
    assert hashes == {"new"}
    keys = ["pair:10.0.0.1 carol", "addr:10.0.0.1"]
    for _ in range(2):
        start_login_attempt(engine, keys=keys, now=NOW, forget_before=NOW)
    third = start_login_attempt(engine, keys=keys, now=NOW, forget_before=NOW)
    assert third.earlier["pair:10.0.0.1 carol"].count == 2
    assert third.earlier["addr:10.0.0.1"].last_failed_at == NOW
    later_try = start_login_attempt(engine, keys=keys, now=later, forget_before=later)
    assert later_try.earlier["pair:10.0.0.1 carol"].count == 0  # the old ones lapsed ...

    def stored() -> int:
        with engine.connect() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(login_failures)).one()[0]
            )

    assert stored() == 2  # ... and are gone
    forget_login_attempt(engine, attempt=later_try, clear_keys=("pair:10.0.0.1 carol",))
    assert stored() == 0
