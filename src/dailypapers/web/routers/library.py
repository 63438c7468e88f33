"""Library pages: saved papers, collections (their pages, settings, items, members, exports
and Atom feeds), the "Add to collection" form, and bringing a library in; each page beside
its JSON twin under /api/v1. Every form answers with a redirect or a page, so all of it works
without JavaScript."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from dailypapers.ingest.library import LibraryFormat
from dailypapers.models import User
from dailypapers.store.collections import MAX_NOTE_CHARS
from dailypapers.web import library_views
from dailypapers.web.deps import (
    CsrfChecked,
    CurrentUser,
    RequiredUser,
    StateDep,
    UploadAccepted,
    site_url,
)
from dailypapers.web.errors import ApiError, byte_size
from dailypapers.web.library_formats import MEDIA_TYPES, ExportFormat
from dailypapers.web.library_schemas import (
    MAX_IMPORT_CHARS,
    CollectionCreate,
    CollectionPage,
    CollectionPublic,
    CollectionsPage,
    CollectionUpdate,
    ItemAdded,
    ItemCreate,
    ItemUpdate,
    LibraryImportCreate,
    LibraryImportReport,
    MemberCreate,
    SavedPage,
    VisibilityName,
)
from dailypapers.web.routers.pages import local_path
from dailypapers.web.schemas import MAX_ROW_ID, ErrorPublic
from dailypapers.web.state import AppState
from dailypapers.web.templating import environment, render
from dailypapers.web.views import voted_ids

router = APIRouter(include_in_schema=False)
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorPublic} for status in (400, 401, 403, 404, 409, 413, 414, 422, 429, 503)
}
api = APIRouter(prefix="/api/v1", tags=["api"], responses=_ERRORS)

ATOM = "application/atom+xml; charset=utf-8"
PRIVATE = "private, no-store"
_REF = re.compile(r"(\d{1,10})(?:-[a-z0-9-]*)?")

Page = Annotated[int, Query(ge=1, le=1000, description="Page number, from 1.")]
Key = Annotated[
    str | None, Query(max_length=100, description="The secret key of an unlisted collection.")
]
CollectionId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
PaperId = Annotated[str, Path(min_length=1, max_length=200)]
FormPaper = Annotated[str, Form(min_length=1, max_length=200)]
Next = Annotated[str | None, Form(max_length=2000)]


def _collection_id(ref: str) -> int:
    """The id at the head of `12-reading-group` (or `12`); 404 for anything else."""
    match = _REF.fullmatch(ref)
    if match is None or not 1 <= int(match.group(1)) <= MAX_ROW_ID:
        raise ApiError(404, f"no collection {ref!r}", field="collection_id")
    return int(match.group(1))


def _back(target: str | None, default: str) -> RedirectResponse:
    return RedirectResponse(local_path(target, default), status_code=303)


def _page_of(state: AppState, collection_id: int) -> str:
    """The collection's page, for redirects after a form."""
    return library_views.collection_path(state, collection_id)


# -- saved papers ----------------------------------------------------------------------------


@router.get("/saved")
def saved_page(request: Request, state: StateDep, user: RequiredUser, p: Page = 1) -> HTMLResponse:
    saved = library_views.saved_view(state, user, page=p)
    voted = voted_ids(state, user, saved.papers)
    context = {"saved": saved, "voted": voted, "json_url": f"/api/v1/saved?p={p}"}
    return render(request, "saved.html", context)


@api.get("/saved", response_model=SavedPage)
def api_saved(state: StateDep, user: RequiredUser, p: Page = 1) -> SavedPage:
    """The papers you saved, latest first (50 a page)."""
    return library_views.saved_view(state, user, page=p)


# -- collections -----------------------------------------------------------------------------


@router.get("/collections")
def collections_page(request: Request, state: StateDep, user: CurrentUser) -> HTMLResponse:
    mine = library_views.my_collections_view(state, user) if user else None
    context = {
        "mine": mine,
        "public": library_views.public_collections_view(state),
        "error": None,
        "form": None,
        "json_url": "/api/v1/collections" if user else None,
    }
    return render(request, "collections.html", context)


@router.post("/collections", dependencies=[CsrfChecked])
def create_collection(
    request: Request,
    state: StateDep,
    user: RequiredUser,
    name: Annotated[str, Form(max_length=500)],
    visibility: Annotated[VisibilityName, Form()] = "private",
    description: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    try:
        body = CollectionCreate(name=name, visibility=visibility, description=description)
        made = library_views.create_view(state, user, body)
    except (ApiError, ValueError) as error:
        message = error.message if isinstance(error, ApiError) else _first_problem(error)
        context = {
            "mine": library_views.my_collections_view(state, user),
            "public": library_views.public_collections_view(state),
            "error": message,
            "form": {"name": name, "visibility": visibility, "description": description},
        }
        status = error.status if isinstance(error, ApiError) else 422
        return render(request, "collections.html", context, status_code=status)
    return _back(None, made.url)


def _first_problem(error: ValueError) -> str:
    errors = getattr(error, "errors", None)
    if callable(errors):
        first = errors()[0]
        return f"{first['loc'][0]}: {first['msg']}"
    return str(error)


@router.get("/collections/{ref}")
def collection_page(
    request: Request, state: StateDep, user: CurrentUser, ref: str, key: Key = None, p: Page = 1
) -> HTMLResponse:
    collection_id = _collection_id(ref)
    page = library_views.collection_view(state, user, collection_id, key=key, page=p)
    shown = page.collection
    query = f"?key={key}" if key and shown.visibility == "unlisted" else ""
    context = {
        "page": page,
        "key": key if query else None,
        "voted": _voted(state, user, page),
        "base_url": (site_url(request) or str(request.base_url)).rstrip("/"),
        "json_url": f"/api/v1/collections/{collection_id}{query}",
        "feed_url": shown.feed,
        "feed_title": f"{shown.name}: new papers",
    }
    response = render(request, "collection.html", context)
    if shown.visibility != "public":  # a secret link or a member's page: kept by no cache
        response.headers["cache-control"] = PRIVATE
    return response


def _voted(state: AppState, user: User | None, page: CollectionPage) -> set[str]:
    return voted_ids(state, user, [item.paper for item in page.items])


@router.post("/collections/{collection_id}/settings", dependencies=[CsrfChecked])
def collection_settings(
    state: StateDep,
    user: RequiredUser,
    collection_id: CollectionId,
    name: Annotated[str, Form(min_length=1, max_length=100)],
    visibility: Annotated[VisibilityName, Form()],
    description: Annotated[str, Form(max_length=2000)] = "",
) -> RedirectResponse:
    body = CollectionUpdate(name=name, visibility=visibility, description=description)
    changed = library_views.update_view(state, user, collection_id, body)
    return _back(None, changed.url)


@router.post("/collections/{collection_id}/link", dependencies=[CsrfChecked])
def new_link(state: StateDep, user: RequiredUser, collection_id: CollectionId) -> Response:
    changed = library_views.update_view(state, user, collection_id, CollectionUpdate(new_link=True))
    return _back(None, changed.url + "#share")


@router.get("/collections/{collection_id}/delete")
def delete_page(
    request: Request, state: StateDep, user: RequiredUser, collection_id: CollectionId
) -> HTMLResponse:
    """Asks before deleting."""
    access = library_views.owned(state, user, collection_id)
    count = access.collection.item_count
    context = {
        "title": f"Delete “{access.collection.name}”?",
        "text": f"Its {count} paper{'' if count == 1 else 's'}, notes and members go with it;"
        " the papers stay on the site. This cannot be undone.",
        "form": {
            "action": f"/collections/{collection_id}/delete",
            "button": "Delete the collection",
            "fields": {},
        },
    }
    return render(request, "message.html", context)


@router.post("/collections/{collection_id}/delete", dependencies=[CsrfChecked])
def delete_collection(
    state: StateDep, user: RequiredUser, collection_id: CollectionId
) -> RedirectResponse:
    library_views.delete_view(state, user, collection_id)
    return _back(None, "/collections")


@router.post("/collections/{collection_id}/items", dependencies=[CsrfChecked])
def add_item(
    state: StateDep,
    user: RequiredUser,
    collection_id: CollectionId,
    paper_id: FormPaper,
    note: Annotated[str, Form(max_length=MAX_NOTE_CHARS)] = "",
    next: Next = None,
) -> RedirectResponse:
    library_views.add_item_view(state, user, collection_id, paper_id, note=note)
    return _back(next, _page_of(state, collection_id))


@router.post("/collections/{collection_id}/items/remove", dependencies=[CsrfChecked])
def remove_item(
    state: StateDep, user: RequiredUser, collection_id: CollectionId, paper_id: FormPaper,
    next: Next = None,
) -> RedirectResponse:  # fmt: skip
    library_views.remove_item_view(state, user, collection_id, paper_id)
    return _back(next, _page_of(state, collection_id))


@router.post("/collections/{collection_id}/items/note", dependencies=[CsrfChecked])
def note_item(
    state: StateDep,
    user: RequiredUser,
    collection_id: CollectionId,
    paper_id: FormPaper,
    note: Annotated[str, Form(max_length=MAX_NOTE_CHARS)] = "",
    next: Next = None,
) -> RedirectResponse:
    library_views.update_item_view(state, user, collection_id, paper_id, note=note)
    return _back(next, _page_of(state, collection_id))


@router.post("/collections/{collection_id}/items/move", dependencies=[CsrfChecked])
def move_item(
    state: StateDep,
    user: RequiredUser,
    collection_id: CollectionId,
    paper_id: FormPaper,
    position: Annotated[int, Form(ge=1, le=1_000_000)],
    next: Next = None,
) -> RedirectResponse:
    library_views.update_item_view(state, user, collection_id, paper_id, position=position)
    return _back(next, _page_of(state, collection_id))


@router.post("/collections/{collection_id}/members", dependencies=[CsrfChecked])
def invite(
    state: StateDep,
    user: RequiredUser,
    collection_id: CollectionId,
    username: Annotated[str, Form(min_length=1, max_length=40)],
) -> RedirectResponse:
    library_views.add_member_view(state, user, collection_id, username)
    return _back(None, _page_of(state, collection_id) + "#members")


@router.post("/collections/{collection_id}/members/remove", dependencies=[CsrfChecked])
def uninvite(
    state: StateDep,
    user: RequiredUser,
    collection_id: CollectionId,
    username: Annotated[str, Form(min_length=1, max_length=40)],
) -> RedirectResponse:
    library_views.remove_member_view(state, user, collection_id, username)
    leaving = username.lower() == user.username.lower()
    return _back(None, "/collections" if leaving else _page_of(state, collection_id) + "#members")


@router.get("/collections/{ref}/export.{fmt}")
def export(
    state: StateDep, user: CurrentUser, ref: str, fmt: ExportFormat, key: Key = None
) -> Response:
    """The whole collection as BibTeX (.bib), CSV (.csv) or RIS (.ris)."""
    collection, text = library_views.export_view(state, user, _collection_id(ref), key=key, fmt=fmt)
    headers = {"content-disposition": f'attachment; filename="{collection.slug}.{fmt}"'}
    if collection.visibility != "public":
        headers["cache-control"] = PRIVATE
    return Response(text, media_type=MEDIA_TYPES[fmt], headers=headers)


@router.get("/feeds/collections/{ref}.atom")
def collection_feed(request: Request, state: StateDep, ref: str) -> Response:
    """A public collection's newest additions."""
    collection, feed = library_views.collection_feed_view(state, _collection_id(ref))
    base = (state.settings.public_url or str(request.base_url)).rstrip("/")
    body = environment.get_template("feed.xml").render(
        title=f"{state.settings.site_name}: {feed.title}",
        base=base,
        self_url=f"{base}/feeds/collections/{collection.ref}.atom",
        html_url=f"{base}/collections/{collection.ref}",
        updated=feed.updated,
        entries=feed.entries,
        pages={},
    )
    return Response(body, media_type=ATOM)


@router.get("/users/{username}/collections")
def user_collections_page(request: Request, state: StateDep, username: str) -> HTMLResponse:
    found = library_views.public_collections_view(state, username=username)
    context = {
        "owner": username,
        "public": found,
        "json_url": f"/api/v1/users/{username}/collections",
    }
    return render(request, "collections.html", context | {"mine": None, "error": None})


# -- the "Add to collection" form ------------------------------------------------------------


@router.get("/collect")
def collect_page(
    request: Request,
    state: StateDep,
    user: RequiredUser,
    paper_id: Annotated[str, Query(min_length=1, max_length=200)],
    next: Annotated[str | None, Query(max_length=2000)] = None,
) -> HTMLResponse:
    """Without JavaScript, "Add to collection" lands here: a box per collection."""
    paper, mine = library_views.collect_view(state, user, paper_id)
    context = {"paper": paper, "mine": mine, "next": local_path(next, paper.url)}
    return render(request, "collect.html", context)


@router.post("/collect", dependencies=[CsrfChecked])
def collect(
    state: StateDep,
    user: RequiredUser,
    paper_id: FormPaper,
    chosen: Annotated[list[int], Form(alias="collection")] = [],  # noqa: B006 (FastAPI form)
    shown: Annotated[list[int], Form()] = [],  # noqa: B006
    new_name: Annotated[str, Form(max_length=100)] = "",
    next: Next = None,
) -> RedirectResponse:
    wanted = set(chosen)
    if new_name.strip():
        made = library_views.create_view(state, user, CollectionCreate(name=new_name))
        wanted.add(made.id)
    library_views.set_membership_view(state, user, paper_id, wanted=wanted, shown=set(shown))
    return _back(next, f"/papers/{paper_id}")


# -- bringing a library in -------------------------------------------------------------------


def _import_context(state: AppState, user: User, **extra: object) -> dict[str, object]:
    mine = library_views.my_collections_view(state, user)
    editable = [c for c in mine.collections if c.role is not None]
    context: dict[str, object] = {
        "collections": editable,
        "report": None,
        "error": None,
        "chosen": None,
        "upload_limit": byte_size(state.settings.max_upload_bytes),
        "lookup_online": state.settings.submit_lookup_online,
    }
    return context | extra


@router.get("/library/import")
def import_page(
    request: Request,
    state: StateDep,
    user: RequiredUser,
    collection: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
) -> HTMLResponse:
    return render(request, "library_import.html", _import_context(state, user, chosen=collection))


# A pasted library is a form field: Starlette would cut it at 1 MB, below the upload limit
# that the site middleware enforces for the whole body.
@router.post(
    "/library/import",
    dependencies=[CsrfChecked, UploadAccepted],
    form_limits={"max_part_size": MAX_IMPORT_CHARS},
)
async def import_library(
    request: Request,
    state: StateDep,
    user: RequiredUser,
    collection: Annotated[str, Form(max_length=20)] = "new",
    new_name: Annotated[str, Form(max_length=100)] = "",
    format: Annotated[LibraryFormat, Form()] = "auto",
    text: Annotated[str, Form()] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> HTMLResponse:
    upload = await file.read() if file is not None and file.filename else b""
    origin = file.filename if upload and file is not None and file.filename else "pasted"
    data = upload or text.encode()
    try:
        if not data.strip():
            raise ApiError(422, "choose a file or paste your library", field="file")
        collection_id = _import_target(state, user, collection, new_name)
        report = library_views.import_view(
            state, user, collection_id, data=data, origin=origin, format=format
        )
    except ApiError as error:
        context = _import_context(state, user, error=error.message, chosen=collection)
        return render(request, "library_import.html", context, status_code=error.status)
    context = _import_context(state, user, report=report, chosen=report.collection.id)
    return render(request, "library_import.html", context)


def _import_target(state: AppState, user: User, collection: str, new_name: str) -> int:
    if collection != "new":
        if not collection.isdigit():
            raise ApiError(422, "choose a collection", field="collection")
        return int(collection)
    name = new_name.strip() or "Library"
    made = library_views.create_view(state, user, CollectionCreate(name=name))
    return made.id


# -- the JSON API ----------------------------------------------------------------------------


@api.get("/collections", response_model=CollectionsPage)
def api_collections(
    state: StateDep,
    user: RequiredUser,
    paper_id: Annotated[
        str | None,
        Query(min_length=1, max_length=200, description="Say which collections hold it."),
    ] = None,
) -> CollectionsPage:
    """Your collections (owned and shared with you), most recently changed first."""
    return library_views.my_collections_view(state, user, paper_id=paper_id)


@api.post("/collections", response_model=CollectionPublic, status_code=201,
          dependencies=[CsrfChecked])  # fmt: skip
def api_create_collection(
    state: StateDep, user: RequiredUser, body: CollectionCreate
) -> CollectionPublic:
    """Make a collection (private unless you say otherwise)."""
    return library_views.create_view(state, user, body)


@api.get("/collections/{collection_id}", response_model=CollectionPage)
def api_collection(
    state: StateDep, user: CurrentUser, collection_id: CollectionId, key: Key = None, p: Page = 1
) -> CollectionPage:
    """A collection's papers in order with their notes (50 a page)."""
    return library_views.collection_view(state, user, collection_id, key=key, page=p)


@api.patch("/collections/{collection_id}", response_model=CollectionPublic,
           dependencies=[CsrfChecked])  # fmt: skip
def api_update_collection(
    state: StateDep, user: RequiredUser, collection_id: CollectionId, body: CollectionUpdate
) -> CollectionPublic:
    """Rename, describe, share or unshare a collection, or draw a new secret link (owner)."""
    return library_views.update_view(state, user, collection_id, body)


@api.delete("/collections/{collection_id}", status_code=204, dependencies=[CsrfChecked])
def api_delete_collection(state: StateDep, user: RequiredUser, collection_id: CollectionId) -> None:
    """Delete a collection (owner); its papers stay on the site."""
    library_views.delete_view(state, user, collection_id)


@api.post("/collections/{collection_id}/items", response_model=ItemAdded,
          dependencies=[CsrfChecked])  # fmt: skip
def api_add_item(
    state: StateDep, user: RequiredUser, collection_id: CollectionId, body: ItemCreate
) -> ItemAdded:
    """Add a paper at the end of a collection (owner or editor); adding it twice adds it once."""
    return library_views.add_item_view(state, user, collection_id, body.paper_id, note=body.note)


@api.patch("/collections/{collection_id}/items/{paper_id:path}", status_code=204,
           dependencies=[CsrfChecked])  # fmt: skip
def api_update_item(
    state: StateDep,
    user: RequiredUser,
    collection_id: CollectionId,
    paper_id: PaperId,
    body: ItemUpdate,
) -> None:
    """Change a paper's note or move it to another place (owner or editor)."""
    library_views.update_item_view(
        state, user, collection_id, paper_id, note=body.note, position=body.position
    )


@api.delete("/collections/{collection_id}/items/{paper_id:path}", status_code=204,
            dependencies=[CsrfChecked])  # fmt: skip
def api_remove_item(
    state: StateDep, user: RequiredUser, collection_id: CollectionId, paper_id: PaperId
) -> None:
    """Take a paper out of a collection (owner or editor)."""
    if not library_views.remove_item_view(state, user, collection_id, paper_id):
        raise ApiError(404, f"the collection does not hold {paper_id!r}", field="paper_id")


@api.post("/collections/{collection_id}/members", status_code=204, dependencies=[CsrfChecked])
def api_add_member(
    state: StateDep, user: RequiredUser, collection_id: CollectionId, body: MemberCreate
) -> None:
    """Give another user edit rights, by username (owner)."""
    library_views.add_member_view(state, user, collection_id, body.username)


@api.delete("/collections/{collection_id}/members/{username}", status_code=204,
            dependencies=[CsrfChecked])  # fmt: skip
def api_remove_member(
    state: StateDep,
    user: RequiredUser,
    collection_id: CollectionId,
    username: Annotated[str, Path(min_length=1, max_length=40)],
) -> None:
    """Take an editor's rights away (owner), or leave a collection you edit."""
    library_views.remove_member_view(state, user, collection_id, username)


@api.post("/collections/{collection_id}/import", response_model=LibraryImportReport,
          dependencies=[CsrfChecked, UploadAccepted])  # fmt: skip
def api_import(
    state: StateDep, user: RequiredUser, collection_id: CollectionId, body: LibraryImportCreate
) -> LibraryImportReport:
    """Bring a library (BibTeX, CSL-JSON, RIS, or ids a line) into a collection."""
    return library_views.import_view(
        state, user, collection_id, data=body.text.encode(), origin="api", format=body.format
    )


@api.get("/users/{username}/collections", response_model=CollectionsPage)
def api_user_collections(state: StateDep, username: str) -> CollectionsPage:
    """A user's public collections."""
    return library_views.public_collections_view(state, username=username)
