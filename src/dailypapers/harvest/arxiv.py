"""Fetching from arXiv: OAI-PMH harvests with resumption, API lookups by id, announcement feeds.

Parsing lives in `dailypapers.sources`; this module only builds requests, follows paging and
turns upstream error answers into `HarvestError`. Pass a `PoliteClient` with arXiv's 3 s
interval, and use the same client for every arXiv host so they share it.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from dailypapers.harvest.http import HarvestError, PoliteClient, QueryParams, request_url
from dailypapers.ids import split_arxiv_id
from dailypapers.models import PaperRecord, RecordError
from dailypapers.sources.arxiv_atom import AtomPage, parse_atom_page
from dailypapers.sources.arxiv_oai import parse_oai_page
from dailypapers.sources.arxiv_rss import parse_arxiv_rss

# Archives that are top-level OAI sets; every other archive is a subset of "physics".
_TOP_LEVEL_SETS = frozenset({"cs", "econ", "eess", "math", "q-bio", "q-fin", "stat"})
_PHYSICS_ARCHIVES = frozenset(
    {
        "astro-ph",
        "cond-mat",
        "gr-qc",
        "hep-ex",
        "hep-lat",
        "hep-ph",
        "hep-th",
        "math-ph",
        "nlin",
        "nucl-ex",
        "nucl-th",
        "physics",
        "quant-ph",
    }
)
# Archives retired in the 1990s whose names survive as categories of old papers.
_MERGED_ARCHIVES = {
    "cmp-lg": "cs",
    "alg-geom": "math",
    "dg-ga": "math",
    "funct-an": "math",
    "q-alg": "math",
    "adap-org": "nlin",
    "chao-dyn": "nlin",
    "comp-gas": "nlin",
    "patt-sol": "nlin",
    "solv-int": "nlin",
    "mtrl-th": "cond-mat",
    "supr-con": "cond-mat",
    "acc-phys": "physics",
    "ao-sci": "physics",
    "atom-ph": "physics",
    "bayes-an": "physics",
    "chem-ph": "physics",
    "plasm-ph": "physics",
}

# OAI-PMH says an error of this code on the first request means "nothing to harvest".
_NO_RECORDS = "noRecordsMatch"


@dataclass(frozen=True, slots=True)
class HarvestPage:
    """One ListRecords response: its records and the token that resumes after it.

    Store the records first, then persist `resumption_token_after`; None means the harvest
    is complete.
    """

    records: list[PaperRecord | RecordError]
    resumption_token_after: str | None
    url: str
    complete_list_size: int | None = None


def oai_set_for_category(category: str) -> str:
    """The arXiv OAI-PMH set holding `category`: cs.LG -> "cs", hep-th -> "physics:hep-th"."""
    archive = category.strip().split(".", 1)[0]
    archive = _MERGED_ARCHIVES.get(archive, archive)
    if archive in _TOP_LEVEL_SETS:
        return archive
    if archive in _PHYSICS_ARCHIVES:
        return f"physics:{archive}"
    raise ValueError(f"unknown arXiv category {category!r}: no OAI-PMH set holds it")


def iter_oai_pages(
    client: PoliteClient,
    *,
    base_url: str,
    set_spec: str | None,
    from_date: date | None,
    until_date: date | None,
    metadata_prefix: str = "arXivRaw",
    resumption_token: str | None = None,
) -> Iterator[HarvestPage]:
    """Yield ListRecords pages from the OAI-PMH endpoint `base_url`, following resumption tokens.

    With `resumption_token` the harvest resumes there (the other filters are then implied by
    the token). Raises `HarvestError` for OAI errors other than noRecordsMatch, which yields
    nothing.
    """
    params: QueryParams
    if resumption_token:
        params = _resume_params(resumption_token)
    else:
        params = _first_params(metadata_prefix, set_spec, from_date, until_date)
    sent_token = resumption_token
    while True:
        url = request_url(base_url, params)
        page = parse_oai_page(client.get(base_url, params), origin=url)
        if page.error_code == _NO_RECORDS:
            return
        if page.error_code:
            raise HarvestError(url, f"OAI-PMH error {page.error_code}: {page.error_message}")
        token = page.resumption_token or None
        if token is not None and token == sent_token:
            raise HarvestError(url, f"resumptionToken {token!r} did not advance")
        yield HarvestPage(page.records, token, url, page.complete_list_size)
        if token is None:
            return
        sent_token = token
        params = _resume_params(token)


def _first_params(
    metadata_prefix: str, set_spec: str | None, from_date: date | None, until_date: date | None
) -> dict[str, str]:
    params = {"verb": "ListRecords", "metadataPrefix": metadata_prefix}
    if set_spec:
        params["set"] = set_spec
    if from_date:
        params["from"] = from_date.isoformat()
    if until_date:
        params["until"] = until_date.isoformat()
    return params


def _resume_params(token: str) -> dict[str, str]:
    # OAI-PMH: resumptionToken is an exclusive argument; only the verb goes with it.
    return {"verb": "ListRecords", "resumptionToken": token}


def fetch_atom_page(client: PoliteClient, *, base_url: str, params: QueryParams) -> AtomPage:
    """One arXiv API query (`base_url` is the /api/query endpoint) parsed as an Atom page.

    arXiv reports bad queries as an Atom feed holding one error entry, with HTTP 400 (or,
    historically, 200); both raise `HarvestError` carrying arXiv's message.
    """
    url = request_url(base_url, params)
    try:
        data = client.get(base_url, params)
    except HarvestError as exc:
        if exc.status_code != 400 or not exc.body:
            raise
        rejected = parse_atom_page(exc.body, origin=url).error or exc.reason
        raise HarvestError(
            url, f"arXiv API rejected the query: {rejected}", status_code=400
        ) from exc
    page = parse_atom_page(data, origin=url)
    if page.error:
        raise HarvestError(url, f"arXiv API error: {page.error}")
    return page


def fetch_arxiv_by_ids(
    client: PoliteClient, *, base_url: str, ids: Sequence[str], batch_size: int = 100
) -> Iterator[PaperRecord | RecordError]:
    """Look papers up by arXiv id through the API's `id_list`, `batch_size` ids per request.

    A string that is not an arXiv id is never sent (arXiv would reject the whole batch with
    HTTP 400): it yields a RecordError, as does an id the API returns no entry for.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    wanted: list[str] = []
    for raw in ids:
        canonical = _canonical_id(raw)
        if canonical is None:
            yield RecordError(base_url, raw, "not an arXiv identifier; not requested")
        elif canonical not in wanted:
            wanted.append(canonical)
    for start in range(0, len(wanted), batch_size):
        yield from _fetch_id_batch(client, base_url, wanted[start : start + batch_size], batch_size)


def _canonical_id(raw: str) -> str | None:
    parsed = split_arxiv_id(raw)
    if parsed is None:
        return None
    paper_id, version = parsed
    return f"{paper_id}v{version}" if version else paper_id


def _fetch_id_batch(
    client: PoliteClient, base_url: str, batch: list[str], batch_size: int
) -> Iterator[PaperRecord | RecordError]:
    # The same parameters arXiv's reference client sends (and the recordings were made with);
    # max_results must cover the batch or the API pages it.
    params: dict[str, str | int] = {
        "search_query": "",
        "id_list": ",".join(batch),
        "sortBy": "relevance",
        "sortOrder": "descending",
        "start": 0,
        "max_results": batch_size,
    }
    url = request_url(base_url, params)
    page = fetch_atom_page(client, base_url=base_url, params=params)
    found = {r.paper_id for r in page.records if isinstance(r, PaperRecord)}
    yield from page.records
    for requested in batch:
        if _unversioned(requested) not in found:
            yield RecordError(url, requested, "arXiv API returned no entry for this id")


def _unversioned(canonical: str) -> str:
    parsed = split_arxiv_id(canonical)
    return parsed[0] if parsed else canonical


def fetch_arxiv_rss(
    client: PoliteClient, *, base_url: str, categories: Sequence[str]
) -> Iterator[PaperRecord | RecordError]:
    """Today's announcements for `categories` in one request: {base_url}/cs.LG+cs.CL."""
    if not categories:
        raise ValueError("fetch_arxiv_rss needs at least one category")
    for category in categories:
        oai_set_for_category(category)  # rejects typos before a request is spent
    url = f"{base_url.rstrip('/')}/{'+'.join(c.strip() for c in categories)}"
    data = client.get(url)
    yield from parse_arxiv_rss(io.BytesIO(data), origin=url)
