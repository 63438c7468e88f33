"""Collections and library matching on SQLite and PostgreSQL: names, visibility and secret
links, items in order with notes, members, the papers a library adds to For you, and matching
entries to stored papers by arXiv id, DOI and title."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from dailypapers.models import PaperRecord, SourceName
from dailypapers.store.accounts import create_user
from dailypapers.store.collections import (
    MAX_NOTE_CHARS,
    CollectionError,
    NameTaken,
    add_member,
    add_papers,
    collections_holding,
    create_collection,
    delete_collection,
    ensure_collection,
    get_collection,
    list_items,
    list_member_collections,
    list_members,
    list_public_collections,
    member_role,
    move_paper,
    remove_member,
    remove_paper,
    set_note,
    slugify,
    update_collection,
)
from dailypapers.store.library import EntryKeys, Match, match_papers
from dailypapers.store.lists import set_paper_hidden
from dailypapers.store.marks import get_feedback, set_mark
from dailypapers.store.papers import LocatedRecord, upsert_papers
from dailypapers.store.schema import collection_items, paper_categories, papers
from dailypapers.store.votes import PaperMissing, record_vote

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def _user(engine: sa.Engine, name: str) -> int:
    return create_user(engine, username=name, password_hash="x", email=None, now=NOW).user_id


def _store(engine: sa.Engine, *records: PaperRecord) -> None:
    items = [LocatedRecord(r, "test", str(n)) for n, r in enumerate(records)]
    summary = upsert_papers(engine, items, now=NOW)
    assert not summary.failures, summary.failures


def _papers(engine: sa.Engine, count: int) -> list[str]:
    ids = [f"2605.{n:05d}" for n in range(1, count + 1)]
    _store(engine, *(PaperRecord(SourceName.GENERIC, f"Paper {pid}", pid) for pid in ids))
    return ids


def _ids(engine: sa.Engine, collection_id: int) -> list[str]:
    items, _ = list_items(engine, collection_id=collection_id, limit=100)
    return [item.paper.paper_id for item in items]


def test_a_collection_has_one_name_per_owner_whatever_its_case(engine: sa.Engine) -> None:
    ada, bob = _user(engine, "ada"), _user(engine, "bob")
    made = create_collection(engine, owner_id=ada, name="  Reading   group: LLMs ", now=NOW)
    assert (made.name, made.slug, made.ref) == (
        "Reading group: LLMs",
        "reading-group-llms",
        f"{made.collection_id}-reading-group-llms",
    )
    assert made.visibility == "private" and made.owner == "ada" and made.item_count == 0
    with pytest.raises(NameTaken):
        create_collection(engine, owner_id=ada, name="reading GROUP: llms", now=NOW)
    create_collection(engine, owner_id=bob, name="Reading group: LLMs", now=NOW)  # bob's own
    with pytest.raises(CollectionError, match="needs a name"):
        create_collection(engine, owner_id=ada, name="   ", now=NOW)
    assert member_role(engine, collection_id=made.collection_id, user_id=ada) == "owner"
    assert member_role(engine, collection_id=made.collection_id, user_id=bob) is None
    assert ensure_collection(engine, owner_id=ada, name="READING group: llms", now=NOW) == made


def test_slugs_are_ascii_words() -> None:
    assert slugify("Gröbner bases — a survey!") == "grobner-bases-a-survey"
    assert slugify("深度学习") == "collection"


def test_rename_visibility_and_a_new_secret_link(engine: sa.Engine) -> None:
    ada = _user(engine, "ada")
    made = create_collection(engine, owner_id=ada, name="Drafts", now=NOW)
    other = create_collection(engine, owner_id=ada, name="Other", now=NOW)
    later = NOW + timedelta(hours=1)
    renamed = update_collection(
        engine, collection_id=made.collection_id, now=later, name="Kept", visibility="unlisted"
    )
    assert renamed is not None
    assert (renamed.name, renamed.slug, renamed.visibility) == ("Kept", "kept", "unlisted")
    assert renamed.updated_at == later and renamed.secret == made.secret
    with pytest.raises(NameTaken):
        update_collection(engine, collection_id=other.collection_id, now=later, name="kept")
    rotated = update_collection(engine, collection_id=made.collection_id, now=later, new_link=True)
    assert rotated is not None and rotated.secret != made.secret and len(rotated.secret) >= 22
    assert update_collection(engine, collection_id=999_999, now=later, name="x") is None


def test_who_may_read_a_collection(engine: sa.Engine) -> None:
    ada = _user(engine, "ada")
    made = create_collection(engine, owner_id=ada, name="Secret", now=NOW)
    assert made.readable_by("owner", None)
    assert not made.readable_by(None, made.secret)  # private: the key opens nothing
    unlisted = update_collection(
        engine, collection_id=made.collection_id, now=NOW, visibility="unlisted"
    )
    assert unlisted is not None
    assert unlisted.readable_by(None, unlisted.secret)
    assert not unlisted.readable_by(None, None)
    assert not unlisted.readable_by(None, unlisted.secret[:-1] + "x")
    public = update_collection(
        engine, collection_id=made.collection_id, now=NOW, visibility="public"
    )
    assert public is not None and public.readable_by(None, None)


def test_only_public_collections_are_listed(engine: sa.Engine) -> None:
    ada = _user(engine, "ada")
    for name, visibility in (("Open", "public"), ("Link", "unlisted"), ("Mine", "private")):
        create_collection(engine, owner_id=ada, name=name, now=NOW, visibility=visibility)
    assert [c.name for c in list_public_collections(engine, limit=10)] == ["Open"]
    assert [c.name for c in list_public_collections(engine, limit=10, owner_id=ada)] == ["Open"]
    mine = list_member_collections(engine, user_id=ada)
    assert {m.collection.name for m in mine} == {"Open", "Link", "Mine"}


def test_items_keep_their_order_and_each_paper_once(engine: sa.Engine) -> None:
    ada = _user(engine, "ada")
    ids = _papers(engine, 5)
    made = create_collection(engine, owner_id=ada, name="Queue", now=NOW)
    cid = made.collection_id
    first = add_papers(engine, collection_id=cid, paper_ids=ids[:3], added_by=ada, now=NOW)
    assert first.added == ids[:3] and first.present == []
    again = add_papers(engine, collection_id=cid, paper_ids=[ids[1], ids[3]], added_by=ada, now=NOW)
    assert again.added == [ids[3]] and again.present == [ids[1]]
    assert _ids(engine, cid) == [ids[0], ids[1], ids[2], ids[3]]
    assert move_paper(engine, collection_id=cid, paper_id=ids[3], position=1, now=NOW)
    assert move_paper(engine, collection_id=cid, paper_id=ids[1], position=99, now=NOW)
    assert _ids(engine, cid) == [ids[3], ids[0], ids[2], ids[1]]
    assert not move_paper(engine, collection_id=cid, paper_id=ids[4], position=1, now=NOW)
    assert set_note(engine, collection_id=cid, paper_id=ids[0], note="  read §3 ", now=NOW)
    with pytest.raises(CollectionError, match="at most"):
        set_note(
            engine, collection_id=cid, paper_id=ids[0], note="x" * (MAX_NOTE_CHARS + 1), now=NOW
        )
    items, total = list_items(engine, collection_id=cid, limit=2, offset=1)
    assert total == 4 and [i.paper.paper_id for i in items] == [ids[0], ids[2]]
    assert items[0].note == "read §3" and items[0].added_by == "ada"
    assert remove_paper(engine, collection_id=cid, paper_id=ids[2], now=NOW)
    assert not remove_paper(engine, collection_id=cid, paper_id=ids[2], now=NOW)
    assert _ids(engine, cid) == [ids[3], ids[0], ids[1]]
    items, _ = list_items(engine, collection_id=cid, limit=10)
    assert [item.position for item in items] == [1, 2, 3]  # the places close up
    with pytest.raises(PaperMissing):
        add_papers(engine, collection_id=cid, paper_ids=["2605.99999"], added_by=ada, now=NOW)
    found = get_collection(engine, collection_id=cid)
    assert found is not None and found.item_count == 3
    held = collections_holding(engine, user_id=ada, paper_ids=[ids[0], ids[4]])
    assert held == {ids[0]: {cid}}


def test_hidden_papers_are_left_out_of_a_collection_page(engine: sa.Engine) -> None:
    ada = _user(engine, "ada")
    ids = _papers(engine, 2)
    cid = create_collection(engine, owner_id=ada, name="Q", now=NOW).collection_id
    add_papers(engine, collection_id=cid, paper_ids=ids, added_by=ada, now=NOW)
    set_paper_hidden(engine, paper_id=ids[0], hidden=True)
    assert _ids(engine, cid) == [ids[1]]
    items, total = list_items(engine, collection_id=cid, limit=10, include_hidden=True)
    assert total == 2 and len(items) == 2


def test_deleting_a_collection_takes_its_items_and_members(engine: sa.Engine) -> None:
    ada, bob = _user(engine, "ada"), _user(engine, "bob")
    ids = _papers(engine, 2)
    cid = create_collection(engine, owner_id=ada, name="Gone", now=NOW).collection_id
    add_papers(engine, collection_id=cid, paper_ids=ids, added_by=ada, now=NOW)
    add_member(engine, collection_id=cid, user_id=bob, now=NOW)
    assert delete_collection(engine, collection_id=cid)
    assert not delete_collection(engine, collection_id=cid)
    assert get_collection(engine, collection_id=cid) is None
    assert list_member_collections(engine, user_id=bob) == []
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(collection_items)).scalar() == 0


def test_editors_share_a_collection_and_the_owner_stays(engine: sa.Engine) -> None:
    ada, bob = _user(engine, "ada"), _user(engine, "bob")
    ids = _papers(engine, 1)
    cid = create_collection(engine, owner_id=ada, name="Group", now=NOW).collection_id
    assert add_member(engine, collection_id=cid, user_id=bob, now=NOW)
    assert not add_member(engine, collection_id=cid, user_id=bob, now=NOW)
    assert member_role(engine, collection_id=cid, user_id=bob) == "editor"
    assert [(m.username, m.role) for m in list_members(engine, collection_id=cid)] == [
        ("ada", "owner"),
        ("bob", "editor"),
    ]
    add_papers(engine, collection_id=cid, paper_ids=ids, added_by=bob, now=NOW)
    (shared,) = list_member_collections(engine, user_id=bob)
    assert shared.role == "editor" and shared.collection.item_count == 1
    assert not remove_member(engine, collection_id=cid, user_id=ada, now=NOW)  # the owner
    assert remove_member(engine, collection_id=cid, user_id=bob, now=NOW)
    assert member_role(engine, collection_id=cid, user_id=bob) is None


def test_a_title_only_paper_keeps_its_place_when_it_gets_its_arxiv_id(engine: sa.Engine) -> None:
    ada = _user(engine, "ada")
    _store(engine, PaperRecord(SourceName.BIBTEX, "Heat-bath random walks with Markov bases"))
    (match,) = match_papers(engine, [EntryKeys(title="Heat-bath random walks with Markov bases")])
    assert match is not None and match.paper_id.startswith("title:")
    cid = create_collection(engine, owner_id=ada, name="Q", now=NOW).collection_id
    add_papers(engine, collection_id=cid, paper_ids=[match.paper_id], added_by=ada, now=NOW)
    _store(
        engine,
        PaperRecord(SourceName.ARXIV_API, "Heat-bath random walks with Markov bases", "1605.08386"),
    )
    assert _ids(engine, cid) == ["1605.08386"]


def test_library_papers_teach_for_you_and_its_stamp_follows_them(engine: sa.Engine) -> None:
    ada, bob = _user(engine, "ada"), _user(engine, "bob")
    ids = _papers(engine, 4)
    record_vote(engine, user_id=ada, paper_id=ids[0], now=NOW)
    before = get_feedback(engine, user_id=ada)
    assert before.liked == [ids[0]]
    mine = create_collection(engine, owner_id=ada, name="Library", now=NOW).collection_id
    later = NOW + timedelta(minutes=1)
    add_papers(engine, collection_id=mine, paper_ids=ids[1:3], added_by=ada, now=later)
    after = get_feedback(engine, user_id=ada)
    assert set(after.liked) == {ids[0], ids[1], ids[2]} and after.liked[0] == ids[0]
    assert after.stamp != before.stamp
    set_mark(engine, user_id=ada, paper_id=ids[2], mark="not_interested", now=later)
    assert ids[2] not in get_feedback(engine, user_id=ada).liked
    # Papers in someone else's collection ada edits are not ada's library.
    theirs = create_collection(engine, owner_id=bob, name="Bob's", now=NOW).collection_id
    add_member(engine, collection_id=theirs, user_id=ada, now=NOW)
    add_papers(engine, collection_id=theirs, paper_ids=[ids[3]], added_by=ada, now=later)
    assert ids[3] not in get_feedback(engine, user_id=ada).liked
    assert ids[3] in get_feedback(engine, user_id=bob).liked
    stamp = get_feedback(engine, user_id=ada).stamp
    remove_paper(engine, collection_id=mine, paper_id=ids[1], now=later + timedelta(minutes=1))
    assert get_feedback(engine, user_id=ada).stamp != stamp


def test_entries_match_by_arxiv_id_doi_then_title(engine: sa.Engine) -> None:
    _store(
        engine,
        PaperRecord(SourceName.GENERIC, "Attention is all you need", "1706.03762"),
        PaperRecord(
            SourceName.GENERIC, "Deep residual learning", "1512.03385", doi="10.1109/cvpr.2016.90"
        ),
        PaperRecord(SourceName.BIBTEX, "A journal paper", "10.1000/j.1", doi="10.1000/j.1"),
        PaperRecord(SourceName.BIBTEX, "Known only by title"),
    )
    found = match_papers(
        engine,
        [
            EntryKeys(arxiv_id="1706.03762", title="anything"),
            EntryKeys(doi="10.1109/cvpr.2016.90"),
            EntryKeys(doi="10.1000/j.1"),
            EntryKeys(title="ATTENTION is all you need!"),
            EntryKeys(title="Known only by title"),
            # An id that names another paper wins over a title that looks the same.
            EntryKeys(arxiv_id="2001.00001", title="Attention is all you need"),
            EntryKeys(doi="10.2000/other", title="Deep residual learning"),
            # With an id, a title-only twin is re-keyed by storing the entry, not matched.
            EntryKeys(arxiv_id="2001.00002", title="Known only by title"),
            EntryKeys(title="Nothing like it"),
        ],
    )
    assert found[:4] == [
        Match("1706.03762", "arxiv"),
        Match("1512.03385", "doi"),
        Match("10.1000/j.1", "doi"),
        Match("1706.03762", "title"),
    ]
    assert found[4] is not None and found[4].by == "title"
    assert found[5:] == [None, None, None, None]


def test_an_entry_title_with_latex_matches_the_clean_stored_title(engine: sa.Engine) -> None:
    _store(
        engine,
        PaperRecord(SourceName.GENERIC, "BERT: Pre-training of Deep Bidirectional Transformers",
                    "1810.04805"),
        PaperRecord(SourceName.GENERIC, "Attention is all you need", "1706.03762"),
        PaperRecord(SourceName.BIBTEX, r"The \emph{Marked} Title Stays"),
    )  # fmt: skip
    found = match_papers(
        engine,
        [
            EntryKeys(title=r"{B}{ERT}: Pre-training of Deep Bidirectional Transformers"),
            EntryKeys(title=r"\emph{Attention} is {All} you \textit{Need}"),
            EntryKeys(title=r"The \emph{Marked} Title Stays"),  # stored as written
            EntryKeys(title=r"\emph{Nothing} like it"),
        ],
    )
    assert found[:2] == [Match("1810.04805", "title"), Match("1706.03762", "title")]
    assert found[2] is not None and found[2].paper_id.startswith("title:")
    assert found[3] is None


def test_a_title_only_paper_re_keyed_with_nothing_new_takes_the_kind_of_its_id(
    engine: sa.Engine,
) -> None:
    def entry(paper_id: str | None) -> PaperRecord:
        return PaperRecord(
            SourceName.BIBTEX,
            "Heat-bath random walks with Markov bases",
            paper_id,
            categories=["math.CO"],
            abs_url="https://arxiv.org/abs/1605.08386",
            pdf_url="https://arxiv.org/pdf/1605.08386",
        )

    _store(engine, entry(None))
    # The same entry again, now with its arXiv id: the row shows nothing new but its id.
    _store(engine, entry("1605.08386"))
    with engine.connect() as conn:
        rows = conn.execute(sa.select(papers.c.paper_id, papers.c.id_kind)).all()
        categories = conn.execute(sa.select(paper_categories.c.paper_id)).scalars().all()
    assert [tuple(row) for row in rows] == [("1605.08386", "arxiv")]
    assert categories == ["1605.08386"]
