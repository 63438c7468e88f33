"""The service calls behind the library pages and their JSON twins: saved papers, collections
(reading, changing, sharing, exporting, their feed) and bringing a library in.

Who may do what is decided here, from `Collection.readable_by` and the reader's role: a
collection a reader may not read is a 404 (a private one is not told apart from one that does
not exist); one they may read but not change is a 403. Owners rename, share, invite and
delete; editors add, remove, order and annotate papers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from dailypapers.harvest.http import client_from_settings
from dailypapers.ingest.library import (
    OFFLINE,
    LibraryFormat,
    LibraryFormatError,
    LibraryReport,
    Lookup,
    run_library_import,
)
from dailypapers.models import User
from dailypapers.store.accounts import get_user_by_name
from dailypapers.store.collections import (
    MAX_ITEMS,
    Collection,
    CollectionError,
    CollectionFull,
    NameTaken,
    Role,
    add_member,
    add_papers,
    collections_holding,
    create_collection,
    delete_collection,
    get_collection,
    list_items,
    list_member_collections,
    list_members,
    list_public_collections,
    list_saved_papers,
    member_role,
    move_paper,
    remove_member,
    remove_paper,
    set_note,
    update_collection,
)
from dailypapers.store.papers import get_paper
from dailypapers.store.votes import PaperMissing
from dailypapers.web.errors import ApiError
from dailypapers.web.feed_views import Feed, FeedEntry, entry_updated
from dailypapers.web.library_formats import ExportFormat, export_collection
from dailypapers.web.library_schemas import (
    CollectionCreate,
    CollectionItemPublic,
    CollectionPage,
    CollectionPublic,
    CollectionsPage,
    CollectionUpdate,
    EntryPublic,
    ItemAdded,
    LibraryImportReport,
    MemberPublic,
    SavedPage,
)
from dailypapers.web.schemas import PaperPublic
from dailypapers.web.state import AppState

PAGE_SIZE = 50
PUBLIC_LIST = 50
FEED_SIZE = 100
# A web import waits on arXiv at most once: one request of this many ids (the CLI has no cap).
WEB_LOOKUP_IDS = 100
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Access:
    """A collection as a reader sees it, and their role in it (None: not a member)."""

    collection: Collection
    role: Role | None


def _now() -> datetime:
    return datetime.now(UTC)


def _pages(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


def _missing(collection_id: int) -> ApiError:
    return ApiError(404, f"no collection {collection_id}", field="collection_id")


def readable(state: AppState, user: User | None, collection_id: int, key: str | None) -> Access:
    """The collection if this reader may read it; 404 otherwise (private, or a wrong key)."""
    collection = get_collection(state.engine, collection_id=collection_id)
    if collection is None:
        raise _missing(collection_id)
    role = None
    if user is not None:
        role = member_role(state.engine, collection_id=collection_id, user_id=user.user_id)
    if not collection.readable_by(role, key):
        raise _missing(collection_id)
    return Access(collection, role)


def editable(state: AppState, user: User, collection_id: int, key: str | None = None) -> Access:
    """The collection if the reader is a member (owner or editor); 403 for other readers."""
    access = readable(state, user, collection_id, key)
    if access.role is None:
        raise ApiError(403, "only the collection's owner and editors can change it")
    return access


def owned(state: AppState, user: User, collection_id: int) -> Access:
    """The collection if the reader owns it; 403 for its editors and other readers."""
    access = readable(state, user, collection_id, None)
    if access.role != "owner":
        raise ApiError(403, "only the collection's owner can do this")
    return access


def _refused(call: Callable[[], T]) -> T:
    """Run a store call; its refusals become 409 (a name in use) or 422 (a limit, a value)."""
    try:
        return call()
    except NameTaken as error:
        raise ApiError(409, str(error), field="name") from None
    except CollectionFull as error:
        raise ApiError(422, str(error)) from None
    except CollectionError as error:
        raise ApiError(422, str(error)) from None


# -- reading ---------------------------------------------------------------------------------


def collection_path(state: AppState, collection_id: int) -> str:
    """A collection's page (its list of collections once it is gone)."""
    found = get_collection(state.engine, collection_id=collection_id)
    return f"/collections/{found.ref}" if found else "/collections"


def saved_view(state: AppState, user: User, *, page: int = 1) -> SavedPage:
    papers, total = list_saved_papers(
        state.engine, user_id=user.user_id, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    return SavedPage(
        page=page,
        pages=_pages(total),
        total=total,
        papers=[PaperPublic.of(p) for p in papers],
    )


def my_collections_view(
    state: AppState, user: User, *, paper_id: str | None = None
) -> CollectionsPage:
    """The collections the reader owns or edits; with `paper_id`, whether each holds it."""
    mine = list_member_collections(state.engine, user_id=user.user_id)
    holding: set[int] | None = None
    if paper_id is not None:
        stored = get_paper(state.engine, paper_id=paper_id)
        found = stored.paper_id if stored else paper_id
        by_paper = collections_holding(state.engine, user_id=user.user_id, paper_ids=[found])
        holding = by_paper.get(found, set())
    return CollectionsPage(
        collections=[
            CollectionPublic.of(
                m.collection,
                m.role,
                has_paper=None if holding is None else m.collection.collection_id in holding,
            )
            for m in mine
        ]
    )


def collect_view(state: AppState, user: User, paper_id: str) -> tuple[PaperPublic, CollectionsPage]:
    """A paper and the reader's collections, each saying whether it holds the paper."""
    paper = get_paper(state.engine, paper_id=paper_id)
    if paper is None or (paper.hidden and not user.is_admin):
        raise ApiError(404, f"no paper with id {paper_id!r}", field="paper_id")
    return PaperPublic.of(paper), my_collections_view(state, user, paper_id=paper.paper_id)


def public_collections_view(state: AppState, *, username: str | None = None) -> CollectionsPage:
    """Public collections (of one user, when named), most recently changed first."""
    owner_id = None
    if username is not None:
        owner = get_user_by_name(state.engine, username=username)
        if owner is None:
            raise ApiError(404, f"no user named {username!r}", field="username")
        owner_id = owner.user_id
    found = list_public_collections(state.engine, limit=PUBLIC_LIST, owner_id=owner_id)
    return CollectionsPage(collections=[CollectionPublic.of(c, None) for c in found])


def collection_view(
    state: AppState, user: User | None, collection_id: int, *, key: str | None, page: int = 1
) -> CollectionPage:
    """A page of a collection's papers in order, with notes (and members, for members)."""
    access = readable(state, user, collection_id, key)
    admin = user is not None and user.is_admin
    items, total = list_items(
        state.engine,
        collection_id=collection_id,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
        include_hidden=admin,
    )
    members = None
    if access.role is not None:
        members = [
            MemberPublic(username=m.username, role=m.role, added_at=m.added_at)
            for m in list_members(state.engine, collection_id=collection_id)
        ]
    return CollectionPage(
        collection=CollectionPublic.of(access.collection, access.role),
        page=page,
        pages=_pages(total),
        total=total,
        items=[
            CollectionItemPublic(
                paper=PaperPublic.of(item.paper),
                position=item.position,
                note=item.note,
                added_by=item.added_by,
                added_at=item.added_at,
            )
            for item in items
        ],
        members=members,
    )


def export_view(
    state: AppState, user: User | None, collection_id: int, *, key: str | None, fmt: ExportFormat
) -> tuple[Collection, str]:
    """The whole collection in a reference manager's format."""
    access = readable(state, user, collection_id, key)
    admin = user is not None and user.is_admin
    items, _ = list_items(
        state.engine, collection_id=collection_id, limit=MAX_ITEMS, include_hidden=admin
    )
    return access.collection, export_collection(items, fmt)


def collection_feed_view(state: AppState, collection_id: int) -> tuple[Collection, Feed]:
    """A public collection's latest additions, newest first; any other collection is a 404
    (an unlisted one is never in a feed)."""
    collection = get_collection(state.engine, collection_id=collection_id)
    if collection is None or collection.visibility != "public":
        raise _missing(collection_id)
    items, _ = list_items(state.engine, collection_id=collection_id, limit=MAX_ITEMS)
    items.sort(key=lambda item: (item.added_at, item.position), reverse=True)
    entries = [
        FeedEntry(PaperPublic.of(item.paper), max(item.added_at, entry_updated(item.paper)))
        for item in items[:FEED_SIZE]
    ]
    updated = max((e.updated for e in entries), default=collection.created_at)
    title = f"{collection.name} (a collection by {collection.owner})"
    return collection, Feed(title=title, entries=entries, updated=updated)


# -- changing --------------------------------------------------------------------------------


def create_view(state: AppState, user: User, body: CollectionCreate) -> CollectionPublic:
    made = _refused(
        lambda: create_collection(
            state.engine,
            owner_id=user.user_id,
            name=body.name,
            now=_now(),
            visibility=body.visibility,
            description=body.description,
        )
    )
    return CollectionPublic.of(made, "owner")


def update_view(
    state: AppState, user: User, collection_id: int, body: CollectionUpdate
) -> CollectionPublic:
    """Rename, describe, share or unshare, or draw a new secret link (owner only)."""
    owned(state, user, collection_id)
    changed = _refused(
        lambda: update_collection(
            state.engine,
            collection_id=collection_id,
            now=_now(),
            name=body.name,
            visibility=body.visibility,
            description=body.description,
            new_link=body.new_link,
        )
    )
    if changed is None:
        raise _missing(collection_id)
    return CollectionPublic.of(changed, "owner")


def delete_view(state: AppState, user: User, collection_id: int) -> Collection:
    access = owned(state, user, collection_id)
    delete_collection(state.engine, collection_id=collection_id)
    return access.collection


def _stored_id(state: AppState, paper_id: str) -> str:
    paper = get_paper(state.engine, paper_id=paper_id)
    if paper is None:
        raise ApiError(404, f"no paper with id {paper_id!r}", field="paper_id")
    return paper.paper_id


def add_item_view(
    state: AppState, user: User, collection_id: int, paper_id: str, *, note: str = ""
) -> ItemAdded:
    """Add a paper (with a note); `added` is False if the collection held it already."""
    editable(state, user, collection_id)
    stored = _stored_id(state, paper_id)
    try:
        added = _refused(
            lambda: add_papers(
                state.engine,
                collection_id=collection_id,
                paper_ids=[stored],
                added_by=user.user_id,
                now=_now(),
                note=note,
            )
        )
    except PaperMissing:
        raise ApiError(404, f"no paper with id {paper_id!r}", field="paper_id") from None
    return ItemAdded(paper_id=stored, added=bool(added.added))


def update_item_view(
    state: AppState,
    user: User,
    collection_id: int,
    paper_id: str,
    *,
    note: str | None = None,
    position: int | None = None,
) -> None:
    """Change a paper's note or move it; 404 if the collection does not hold it."""
    editable(state, user, collection_id)
    stored = _stored_id(state, paper_id)
    now = _now()
    found = True
    if note is not None:
        found = _refused(
            lambda: set_note(
                state.engine, collection_id=collection_id, paper_id=stored, note=note, now=now
            )
        )
    if position is not None and found:
        found = move_paper(
            state.engine, collection_id=collection_id, paper_id=stored, position=position, now=now
        )
    if not found:
        raise ApiError(404, f"the collection does not hold {paper_id!r}", field="paper_id")


def remove_item_view(state: AppState, user: User, collection_id: int, paper_id: str) -> bool:
    """Take a paper out; False if it was not in the collection."""
    editable(state, user, collection_id)
    stored = get_paper(state.engine, paper_id=paper_id)
    target = stored.paper_id if stored else paper_id
    return remove_paper(state.engine, collection_id=collection_id, paper_id=target, now=_now())


def add_member_view(state: AppState, user: User, collection_id: int, username: str) -> None:
    """Give another user edit rights (owner only)."""
    owned(state, user, collection_id)
    invited = get_user_by_name(state.engine, username=username.strip())
    if invited is None:
        raise ApiError(404, f"no user named {username.strip()!r}", field="username")
    if invited.user_id == user.user_id:
        raise ApiError(422, "you own this collection already", field="username")
    _refused(
        lambda: add_member(
            state.engine, collection_id=collection_id, user_id=invited.user_id, now=_now()
        )
    )


def remove_member_view(state: AppState, user: User, collection_id: int, username: str) -> None:
    """The owner takes an editor's rights away; an editor may leave."""
    access = editable(state, user, collection_id)
    member = get_user_by_name(state.engine, username=username)
    leaving = member is not None and member.user_id == user.user_id
    if access.role != "owner" and not leaving:
        raise ApiError(403, "only the collection's owner can remove other editors")
    if member is None or not remove_member(
        state.engine, collection_id=collection_id, user_id=member.user_id, now=_now()
    ):
        raise ApiError(404, f"{username!r} is not an editor of this collection", field="username")


def set_membership_view(
    state: AppState, user: User, paper_id: str, *, wanted: set[int], shown: set[int]
) -> None:
    """The "Add to collection" form: the paper goes into each of `wanted` and out of the other
    collections the form showed."""
    stored = _stored_id(state, paper_id)
    holding = collections_holding(state.engine, user_id=user.user_id, paper_ids=[stored])
    has = holding.get(stored, set())
    for collection_id in sorted(shown | wanted):
        if collection_id in wanted and collection_id not in has:
            add_item_view(state, user, collection_id, stored)
        elif collection_id not in wanted and collection_id in has:
            remove_item_view(state, user, collection_id, stored)


# -- bringing a library in -------------------------------------------------------------------


def import_view(
    state: AppState,
    user: User,
    collection_id: int,
    *,
    data: bytes,
    origin: str,
    format: LibraryFormat = "auto",
) -> LibraryImportReport:
    """Read a library into a collection the reader may change; unknown arXiv ids are looked
    up (at most WEB_LOOKUP_IDS) when the site may look papers up online."""
    access = editable(state, user, collection_id)
    settings = state.settings
    client = None
    if settings.submit_lookup_online:
        client = client_from_settings(
            settings, min_interval_s=settings.arxiv_request_interval_s, interactive=True
        )
    try:
        report = run_library_import(
            state.engine,
            settings,
            data=data,
            origin=origin,
            collection_id=collection_id,
            user_id=user.user_id,
            now=_now(),
            format=format,
            lookup=OFFLINE if client is None else Lookup(client, max_ids=WEB_LOOKUP_IDS),
        )
    except LibraryFormatError as error:
        raise ApiError(422, str(error), field="file") from None
    except CollectionError as error:
        raise ApiError(422, str(error)) from None
    finally:
        if client is not None:
            client.close()
    return _report_public(state, report, collection_id, access.role)


def _report_public(
    state: AppState, report: LibraryReport, collection_id: int, role: Role | None
) -> LibraryImportReport:
    collection = get_collection(state.engine, collection_id=collection_id)
    if collection is None:  # deleted meanwhile
        raise _missing(collection_id)
    counts = report.counts
    assert report.format != "auto"
    return LibraryImportReport(
        collection=CollectionPublic.of(collection, role),
        format=report.format,
        matched=counts["matched"],
        looked_up=counts["looked_up"],
        unmatched=counts["unmatched"],
        failed=counts["failed"],
        added=report.added,
        already_there=report.already_there,
        entries=[
            EntryPublic(
                location=o.location,
                entry=o.entry,
                status=o.status,
                paper_id=o.paper_id,
                matched_by=o.matched_by,
                reason=o.reason,
                added=o.added,
            )
            for o in report.outcomes
        ],
    )
