"""Fetching Hugging Face Daily Papers: GET /api/daily_papers?date=YYYY-MM-DD, page by page.

The endpoint returns at most `limit` items (100 at most, 50 if not asked) and pages with `p`;
a page shorter than the limit is the last one. Parsing lives in `dailypapers.sources.hf_daily`.
"""

from __future__ import annotations

import io
import logging
from datetime import date

from dailypapers.harvest.http import PoliteClient, request_url
from dailypapers.models import PaperRecord, RecordError
from dailypapers.sources.hf_daily import parse_hf_daily

log = logging.getLogger(__name__)

HF_MAX_PAGE_SIZE = 100


def fetch_hf_daily(
    client: PoliteClient, *, base_url: str, day: date, page_size: int = HF_MAX_PAGE_SIZE
) -> list[PaperRecord | RecordError]:
    """Every paper on the Daily Papers list of `day`, with its upvotes, as records.

    `base_url` is the site root (https://huggingface.co). Items that cannot be read come back
    as RecordErrors; HTTP failures raise `HarvestError`.
    """
    if not 1 <= page_size <= HF_MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {HF_MAX_PAGE_SIZE}, not {page_size}")
    endpoint = f"{base_url.rstrip('/')}/api/daily_papers"
    results: list[PaperRecord | RecordError] = []
    seen: set[str] = set()
    page_number = 0
    while True:
        params: dict[str, str | int] = {
            "date": day.isoformat(),
            "limit": page_size,
            "p": page_number,
        }
        url = request_url(endpoint, params)
        page = list(parse_hf_daily(io.BytesIO(client.get(endpoint, params)), origin=url))
        fresh = {r.paper_id for r in page if isinstance(r, PaperRecord) and r.paper_id} - seen
        if page_number > 0 and not fresh:
            # An upstream that ignores `p` would otherwise be paged for ever.
            log.warning("%s: no papers beyond the previous pages; stopping", url)
            return results
        seen |= fresh
        results.extend(page)
        if len(page) < page_size:
            return results
        page_number += 1
