"""Repository functions for collections: named reading lists of papers, their members (the
owner and the editors the owner invited) and their items (a paper once, in order, with a note).

Who may read a collection is decided here once (`Collection.readable_by`): its members always;
anyone when it is public; anyone holding its secret key when it is unlisted. Writes check
nothing about the writer: the web views call `member_role` first.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa

from dailypapers.dates import as_utc
from dailypapers.ids import normalize_title
from dailypapers.models import Paper
from dailypapers.store.dialects import conflict_insert
from dailypapers.store.papers import decode_paper
from dailypapers.store.schema import (
    collection_items,
    collection_members,
    collections,
    paper_marks,
    papers,
    users,
)
from dailypapers.store.votes import PaperMissing

Visibility = Literal["private", "unlisted", "public"]
Role = Literal["owner", "editor"]
VISIBILITIES: tuple[Visibility, ...] = ("private", "unlisted", "public")

MAX_NAME_CHARS = 100
MAX_DESCRIPTION_CHARS = 2_000
MAX_NOTE_CHARS = 2_000
MAX_COLLECTIONS_PER_USER = 500
MAX_ITEMS = 20_000
MAX_MEMBERS = 50
_SLUG_CHARS = 60
_CHUNK = 500


class CollectionError(ValueError):
    """A change the store refuses, with the reason for people as its message."""


class NameTaken(CollectionError):
    """The owner has a collection of that name already (names ignore case)."""


class CollectionFull(CollectionError):
    """A limit (collections per user, papers per collection, members) would be passed."""


@dataclass(slots=True, frozen=True)
class Collection:
    collection_id: int
    owner_id: int
    owner: str
    name: str
    slug: str
    description: str
    visibility: Visibility
    secret: str
    item_count: int
    created_at: datetime
    updated_at: datetime

    @property
    def ref(self) -> str:
        """The path segment of its page: `12-reading-group`."""
        return f"{self.collection_id}-{self.slug}"

    def readable_by(self, role: Role | None, key: str | None) -> bool:
        """Members read it; anyone reads a public one, and an unlisted one with its key."""
        if role is not None or self.visibility == "public":
            return True
        return self.visibility == "unlisted" and _same_secret(key, self.secret)


@dataclass(slots=True, frozen=True)
class MemberCollection:
    """One of a user's collections and the user's role in it."""

    collection: Collection
    role: Role


@dataclass(slots=True, frozen=True)
class CollectionItem:
    paper: Paper
    position: int
    note: str
    added_by: str | None
    added_at: datetime


@dataclass(slots=True, frozen=True)
class Member:
    user_id: int
    username: str
    role: Role
    added_at: datetime


@dataclass(slots=True, frozen=True)
class AddedPapers:
    """What adding papers did: the ids added, and those the collection held already."""

    added: list[str]
    present: list[str]


def _same_secret(given: str | None, secret: str) -> bool:
    if not given:
        return False
    return hmac.compare_digest(given.encode(), secret.encode())


def name_key(name: str) -> str:
    """The folded name two collections of one owner may not share."""
    return " ".join(name.split()).casefold()


def slugify(name: str) -> str:
    """ASCII words of the name joined by hyphens (`Reading group: LLMs` -> `reading-group-llms`)."""
    words = re.findall(r"[a-z0-9]+", normalize_title(name).encode("ascii", "ignore").decode())
    return "-".join(words)[:_SLUG_CHARS].strip("-") or "collection"


def new_secret() -> str:
    """A fresh key for an unlisted collection's link (128 random bits, URL-safe)."""
    return secrets.token_urlsafe(16)


def _clean_name(name: str) -> str:
    text = " ".join(name.split())
    if not text:
        raise CollectionError("a collection needs a name")
    if len(text) > MAX_NAME_CHARS:
        raise CollectionError(f"a name has at most {MAX_NAME_CHARS} characters")
    return text


def _check_description(description: str) -> str:
    text = description.strip()
    if len(text) > MAX_DESCRIPTION_CHARS:
        raise CollectionError(f"a description has at most {MAX_DESCRIPTION_CHARS} characters")
    return text


def check_note(note: str) -> str:
    """The note as stored (stripped); CollectionError when it is too long."""
    text = note.strip()
    if len(text) > MAX_NOTE_CHARS:
        raise CollectionError(f"a note has at most {MAX_NOTE_CHARS:,} characters")
    return text


def _item_count() -> sa.ScalarSelect[Any]:
    return (
        sa.select(sa.func.count())
        .where(collection_items.c.collection_id == collections.c.collection_id)
        .scalar_subquery()
    )


def _collections_query() -> sa.Select[Any]:
    return sa.select(collections, users.c.username, _item_count().label("item_count")).join(
        users, users.c.user_id == collections.c.owner_id
    )


def _collection(row: sa.RowMapping) -> Collection:
    return Collection(
        collection_id=row["collection_id"],
        owner_id=row["owner_id"],
        owner=row["username"],
        name=row["name"],
        slug=row["slug"],
        description=row["description"],
        visibility=row["visibility"],
        secret=row["secret"],
        item_count=int(row["item_count"]),
        created_at=as_utc(row["created_at"]),
        updated_at=as_utc(row["updated_at"]),
    )


def _touch(conn: sa.Connection, collection_id: int, now: datetime) -> bool:
    """Mark the collection changed; written first so SQLite takes its write lock at once."""
    statement = (
        sa.update(collections)
        .where(collections.c.collection_id == collection_id)
        .values(updated_at=now)
    )
    return conn.execute(statement).rowcount == 1


def create_collection(
    engine: sa.Engine,
    *,
    owner_id: int,
    name: str,
    now: datetime,
    visibility: Visibility = "private",
    description: str = "",
) -> Collection:
    """A new collection with its owner as first member; NameTaken, CollectionFull."""
    text = _clean_name(name)
    values = {
        "owner_id": owner_id,
        "name": text,
        "name_key": name_key(text),
        "slug": slugify(text),
        "description": _check_description(description),
        "visibility": visibility,
        "secret": new_secret(),
        "created_at": now,
        "updated_at": now,
    }
    owned = sa.select(sa.func.count()).where(collections.c.owner_id == owner_id)
    try:
        with engine.begin() as conn:
            inserted = conn.execute(sa.insert(collections).values(values)).inserted_primary_key
            assert inserted is not None
            if conn.execute(owned).scalar_one() > MAX_COLLECTIONS_PER_USER:
                raise CollectionFull(f"at most {MAX_COLLECTIONS_PER_USER} collections per user")
            member = {"collection_id": inserted[0], "user_id": owner_id, "role": "owner"}
            conn.execute(sa.insert(collection_members).values({**member, "added_at": now}))
    except sa.exc.IntegrityError:
        raise NameTaken(f"you have a collection named {text!r} already") from None
    found = get_collection(engine, collection_id=inserted[0])
    assert found is not None
    return found


def update_collection(
    engine: sa.Engine,
    *,
    collection_id: int,
    now: datetime,
    name: str | None = None,
    visibility: Visibility | None = None,
    description: str | None = None,
    new_link: bool = False,
) -> Collection | None:
    """Rename, change visibility or description, or draw a new secret key (the old unlisted
    link stops working); None if there is no such collection. NameTaken on a clash."""
    values: dict[str, Any] = {"updated_at": now}
    if name is not None:
        text = _clean_name(name)
        values |= {"name": text, "name_key": name_key(text), "slug": slugify(text)}
    if visibility is not None:
        values["visibility"] = visibility
    if description is not None:
        values["description"] = _check_description(description)
    if new_link:
        values["secret"] = new_secret()
    statement = (
        sa.update(collections).where(collections.c.collection_id == collection_id).values(values)
    )
    try:
        with engine.begin() as conn:
            if conn.execute(statement).rowcount != 1:
                return None
    except sa.exc.IntegrityError:
        raise NameTaken(f"you have a collection named {values['name']!r} already") from None
    return get_collection(engine, collection_id=collection_id)


def delete_collection(engine: sa.Engine, *, collection_id: int) -> bool:
    """Delete a collection with its items and members; False if there was none."""
    statement = sa.delete(collections).where(collections.c.collection_id == collection_id)
    with engine.begin() as conn:
        # SQLite enforces ON DELETE CASCADE only with foreign keys on (they are, in
        # engine.py); deleting the children first does not depend on it.
        for table in (collection_items, collection_members):
            conn.execute(sa.delete(table).where(table.c.collection_id == collection_id))
        return conn.execute(statement).rowcount == 1


def get_collection(engine: sa.Engine, *, collection_id: int) -> Collection | None:
    query = _collections_query().where(collections.c.collection_id == collection_id)
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return _collection(row) if row else None


def find_owned_collection(engine: sa.Engine, *, owner_id: int, name: str) -> Collection | None:
    """The owner's collection of this name (case ignored), or None."""
    query = _collections_query().where(
        collections.c.owner_id == owner_id, collections.c.name_key == name_key(name)
    )
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return _collection(row) if row else None


def member_role(engine: sa.Engine, *, collection_id: int, user_id: int) -> Role | None:
    """The user's role in the collection, or None for a non-member."""
    query = sa.select(collection_members.c.role).where(
        collection_members.c.collection_id == collection_id,
        collection_members.c.user_id == user_id,
    )
    with engine.connect() as conn:
        role: Role | None = conn.execute(query).scalar()
    return role


def list_member_collections(engine: sa.Engine, *, user_id: int) -> list[MemberCollection]:
    """The collections a user owns or edits, most recently changed first."""
    query = (
        _collections_query()
        .add_columns(collection_members.c.role)
        .join(
            collection_members,
            collection_members.c.collection_id == collections.c.collection_id,
        )
        .where(collection_members.c.user_id == user_id)
        .order_by(collections.c.updated_at.desc(), collections.c.collection_id.desc())
    )
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [MemberCollection(_collection(row), row["role"]) for row in rows]


def list_public_collections(
    engine: sa.Engine, *, limit: int, offset: int = 0, owner_id: int | None = None
) -> list[Collection]:
    """Public collections (only these are ever listed), most recently changed first."""
    query = _collections_query().where(collections.c.visibility == "public")
    if owner_id is not None:
        query = query.where(collections.c.owner_id == owner_id)
    query = query.order_by(collections.c.updated_at.desc(), collections.c.collection_id.desc())
    with engine.connect() as conn:
        rows = conn.execute(query.limit(limit).offset(offset)).mappings().all()
    return [_collection(row) for row in rows]


def collections_holding(
    engine: sa.Engine, *, user_id: int, paper_ids: Sequence[str]
) -> dict[str, set[int]]:
    """paper id -> the ids of the user's collections (owned or edited) that hold it."""
    if not paper_ids:
        return {}
    query = (
        sa.select(collection_items.c.paper_id, collection_items.c.collection_id)
        .join(
            collection_members,
            collection_members.c.collection_id == collection_items.c.collection_id,
        )
        .where(
            collection_members.c.user_id == user_id,
            collection_items.c.paper_id.in_(list(paper_ids)),
        )
    )
    found: dict[str, set[int]] = {}
    with engine.connect() as conn:
        for paper_id, collection_id in conn.execute(query):
            found.setdefault(paper_id, set()).add(collection_id)
    return found


# -- items -----------------------------------------------------------------------------------


def add_papers(
    engine: sa.Engine,
    *,
    collection_id: int,
    paper_ids: Sequence[str],
    added_by: int | None,
    now: datetime,
    note: str = "",
) -> AddedPapers:
    """Append papers to a collection in the order given; those it holds already are left
    where they are. PaperMissing for an unknown paper, CollectionFull past MAX_ITEMS."""
    wanted = list(dict.fromkeys(paper_ids))
    text = check_note(note)
    try:
        with engine.begin() as conn:
            if not _touch(conn, collection_id, now):
                raise CollectionError(f"no collection {collection_id}")
            present = _held(conn, collection_id, wanted)
            new = [paper_id for paper_id in wanted if paper_id not in present]
            _check_room(conn, collection_id, len(new))
            last = sa.select(sa.func.max(collection_items.c.position)).where(
                collection_items.c.collection_id == collection_id
            )
            start = (conn.execute(last).scalar() or 0) + 1
            rows = [
                {
                    "collection_id": collection_id,
                    "paper_id": paper_id,
                    "position": start + offset,
                    "note": text,
                    "added_by": added_by,
                    "added_at": now,
                }
                for offset, paper_id in enumerate(new)
            ]
            if rows:
                insert = conflict_insert(conn, collection_items).on_conflict_do_nothing()
                conn.execute(insert, rows)
    except sa.exc.IntegrityError:
        missing = _first_missing_paper(engine, wanted)
        raise PaperMissing(missing or wanted[0]) from None
    return AddedPapers(added=new, present=[p for p in wanted if p in present])


def _held(conn: sa.Connection, collection_id: int, paper_ids: Sequence[str]) -> set[str]:
    held: set[str] = set()
    for start in range(0, len(paper_ids), _CHUNK):
        query = sa.select(collection_items.c.paper_id).where(
            collection_items.c.collection_id == collection_id,
            collection_items.c.paper_id.in_(list(paper_ids[start : start + _CHUNK])),
        )
        held.update(conn.execute(query).scalars())
    return held


def _check_room(conn: sa.Connection, collection_id: int, adding: int) -> None:
    if not adding:
        return
    count = sa.select(sa.func.count()).where(collection_items.c.collection_id == collection_id)
    if conn.execute(count).scalar_one() + adding > MAX_ITEMS:
        raise CollectionFull(f"a collection holds at most {MAX_ITEMS:,} papers")


def _first_missing_paper(engine: sa.Engine, paper_ids: Sequence[str]) -> str | None:
    with engine.connect() as conn:
        for start in range(0, len(paper_ids), _CHUNK):
            chunk = list(paper_ids[start : start + _CHUNK])
            query = sa.select(papers.c.paper_id).where(papers.c.paper_id.in_(chunk))
            stored = set(conn.execute(query).scalars())
            missing = [paper_id for paper_id in chunk if paper_id not in stored]
            if missing:
                return missing[0]
    return None


def _item_condition(collection_id: int, paper_id: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        collection_items.c.collection_id == collection_id,
        collection_items.c.paper_id == paper_id,
    )


def remove_paper(engine: sa.Engine, *, collection_id: int, paper_id: str, now: datetime) -> bool:
    """Take a paper out of a collection, the papers after it moving up one place; False if it
    was not in it."""
    statement = (
        sa.delete(collection_items)
        .where(_item_condition(collection_id, paper_id))
        .returning(collection_items.c.position)
    )
    with engine.begin() as conn:
        _touch(conn, collection_id, now)
        removed = conn.execute(statement).scalar()
        if removed is None:
            return False
        after = sa.and_(
            collection_items.c.collection_id == collection_id,
            collection_items.c.position > removed,
        )
        shift = (
            sa.update(collection_items)
            .where(after)
            .values(position=collection_items.c.position - 1)
        )
        conn.execute(shift)
    return True


def set_note(
    engine: sa.Engine, *, collection_id: int, paper_id: str, note: str, now: datetime
) -> bool:
    """Replace an item's note (empty clears it); False if the paper is not in the collection."""
    text = check_note(note)
    with engine.begin() as conn:
        _touch(conn, collection_id, now)
        statement = (
            sa.update(collection_items)
            .where(_item_condition(collection_id, paper_id))
            .values(note=text)
        )
        return conn.execute(statement).rowcount == 1


_ORDER = (
    collection_items.c.position,
    collection_items.c.added_at,
    collection_items.c.paper_id,
)


def move_paper(
    engine: sa.Engine, *, collection_id: int, paper_id: str, position: int, now: datetime
) -> bool:
    """Put a paper at `position` (from 1; past the end means last), the others keeping their
    order; False if the paper is not in the collection."""
    order = (
        sa.select(collection_items.c.paper_id, collection_items.c.position)
        .where(collection_items.c.collection_id == collection_id)
        .order_by(*_ORDER)
    )
    with engine.begin() as conn:
        _touch(conn, collection_id, now)
        rows = conn.execute(order).all()
        ids = [row[0] for row in rows]
        if paper_id not in ids:
            return False
        ids.remove(paper_id)
        ids.insert(min(max(position, 1), len(ids) + 1) - 1, paper_id)
        before = {row[0]: row[1] for row in rows}
        changed = [
            {"_pid": pid, "_position": number}
            for number, pid in enumerate(ids, start=1)
            if before[pid] != number
        ]
        if changed:
            statement = (
                sa.update(collection_items)
                .where(
                    collection_items.c.collection_id == collection_id,
                    collection_items.c.paper_id == sa.bindparam("_pid"),
                )
                .values(position=sa.bindparam("_position"))
            )
            conn.execute(statement, changed)
    return True


def list_items(
    engine: sa.Engine,
    *,
    collection_id: int,
    limit: int,
    offset: int = 0,
    include_hidden: bool = False,
) -> tuple[list[CollectionItem], int]:
    """A page of a collection's papers in its order, and how many there are in all. Papers an
    admin hid are left out unless `include_hidden`."""
    condition = collection_items.c.collection_id == collection_id
    if not include_hidden:
        condition = sa.and_(condition, papers.c.hidden == sa.false())
    adder = users.alias("adder")
    query = (
        sa.select(
            papers,
            collection_items.c.position,
            collection_items.c.note,
            collection_items.c.added_at,
            adder.c.username.label("added_by_name"),
        )
        .join(papers, papers.c.paper_id == collection_items.c.paper_id)
        .outerjoin(adder, adder.c.user_id == collection_items.c.added_by)
        .where(condition)
        .order_by(*_ORDER)
        .limit(limit)
        .offset(offset)
    )
    count = sa.select(sa.func.count()).select_from(collection_items.join(papers)).where(condition)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
        total = int(conn.execute(count).scalar_one())
    items = [
        CollectionItem(
            paper=decode_paper(row),
            position=int(row["position"]),
            note=row["note"],
            added_by=row["added_by_name"],
            added_at=as_utc(row["added_at"]),
        )
        for row in rows
    ]
    return items, total


# -- members ---------------------------------------------------------------------------------


def add_member(
    engine: sa.Engine, *, collection_id: int, user_id: int, now: datetime, role: Role = "editor"
) -> bool:
    """Give a user edit rights; False if they had them already. CollectionFull past
    MAX_MEMBERS."""
    values = {"collection_id": collection_id, "user_id": user_id, "role": role, "added_at": now}
    count = sa.select(sa.func.count()).where(collection_members.c.collection_id == collection_id)
    with engine.begin() as conn:
        _touch(conn, collection_id, now)
        statement = (
            conflict_insert(conn, collection_members)
            .values(values)
            .on_conflict_do_nothing()
            .returning(collection_members.c.user_id)
        )
        added = conn.execute(statement).first() is not None
        if added and conn.execute(count).scalar_one() > MAX_MEMBERS:
            raise CollectionFull(f"a collection has at most {MAX_MEMBERS} members")
    return added


def remove_member(engine: sa.Engine, *, collection_id: int, user_id: int, now: datetime) -> bool:
    """Take an editor's rights away (the owner stays); False if they were not an editor."""
    with engine.begin() as conn:
        _touch(conn, collection_id, now)
        statement = sa.delete(collection_members).where(
            collection_members.c.collection_id == collection_id,
            collection_members.c.user_id == user_id,
            collection_members.c.role == "editor",
        )
        return conn.execute(statement).rowcount == 1


def list_members(engine: sa.Engine, *, collection_id: int) -> list[Member]:
    """The owner, then editors in the order they were added."""
    query = (
        sa.select(
            collection_members.c.user_id,
            users.c.username,
            collection_members.c.role,
            collection_members.c.added_at,
        )
        .join(users, users.c.user_id == collection_members.c.user_id)
        .where(collection_members.c.collection_id == collection_id)
        .order_by(
            (collection_members.c.role == "owner").desc(),
            collection_members.c.added_at,
            users.c.username,
        )
    )
    with engine.connect() as conn:
        return [Member(row[0], row[1], row[2], as_utc(row[3])) for row in conn.execute(query).all()]


def ensure_collection(engine: sa.Engine, *, owner_id: int, name: str, now: datetime) -> Collection:
    """The owner's collection of this name, made (private) if there is none."""
    found = find_owned_collection(engine, owner_id=owner_id, name=name)
    if found is not None:
        return found
    try:
        return create_collection(engine, owner_id=owner_id, name=name, now=now)
    except NameTaken:  # made by someone else's request meanwhile
        again = find_owned_collection(engine, owner_id=owner_id, name=name)
        assert again is not None
        return again


def list_saved_papers(
    engine: sa.Engine, *, user_id: int, limit: int, offset: int = 0, include_hidden: bool = False
) -> tuple[list[Paper], int]:
    """The papers a reader saved (their "saved" marks, store/marks.py), latest first, and how
    many there are."""
    condition = sa.and_(paper_marks.c.user_id == user_id, paper_marks.c.mark == "saved")
    if not include_hidden:
        condition = sa.and_(condition, papers.c.hidden == sa.false())
    joined = paper_marks.join(papers, papers.c.paper_id == paper_marks.c.paper_id)
    query = (
        sa.select(papers)
        .select_from(joined)
        .where(condition)
        .order_by(paper_marks.c.created_at.desc(), papers.c.paper_id)
        .limit(limit)
        .offset(offset)
    )
    count = sa.select(sa.func.count()).select_from(joined).where(condition)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
        total = int(conn.execute(count).scalar_one())
    return [decode_paper(row) for row in rows], total
