"""arXiv harvesting against a real local server replaying recorded OAI-PMH, API and RSS answers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from lxml import etree

from dailypapers.harvest.arxiv import (
    HarvestPage,
    fetch_arxiv_by_ids,
    fetch_arxiv_rss,
    fetch_atom_page,
    iter_oai_pages,
    oai_set_for_category,
)
from dailypapers.harvest.http import HarvestError, PoliteClient, RetryPolicy
from dailypapers.models import PaperRecord, RecordError, SourceName
from tests.harvest.conftest import FakeTime
from tests.replay_server import (
    ReplayServer,
    Reply,
    as_last_page,
    file_reply,
    load_api_recording,
    status_reply,
)

OAI_NAMESPACES = {
    "o": "http://www.openarchives.org/OAI/2.0/",
    "r": "http://arxiv.org/OAI/arXivRaw/",
}
FIRST_TOKEN = "726959|1001"  # in ListRecordsResponse.xml
SECOND_TOKEN = "1403493|1001"  # in ListRecords-387-reindented.xml


@pytest.fixture
def oai_dir(shared_data: Path) -> Path:
    return shared_data / "arxiv-oai-pmh"


@pytest.fixture
def api_dir(shared_data: Path) -> Path:
    return shared_data / "arxiv-api-atom"


@pytest.fixture
def client(fake_time: FakeTime) -> Iterator[PoliteClient]:
    """arXiv's 3 s interval and real retry policy, with waits recorded instead of slept."""
    polite = PoliteClient(
        min_interval_s=3.0,
        connect_timeout_s=2.0,
        read_timeout_s=5.0,
        retry=RetryPolicy(max_retries=2),
        sleep=fake_time.sleep,
        clock=fake_time.monotonic,
    )
    with polite:
        yield polite


def route_oai_pages(server: ReplayServer, oai_dir: Path) -> None:
    """First request -> the 6-record page; its real token -> the 387-record page."""
    server.route(
        "/oai",
        file_reply(oai_dir / "ListRecordsResponse.xml"),
        query={"verb": "ListRecords", "metadataPrefix": "arXivRaw"},
    )
    server.route(
        "/oai",
        file_reply(oai_dir / "ListRecords-387-reindented.xml"),
        query={"verb": "ListRecords", "resumptionToken": FIRST_TOKEN},
        exact=True,
    )


def harvest(
    client: PoliteClient,
    server: ReplayServer,
    *,
    set_spec: str = "cs",
    resumption_token: str | None = None,
) -> Iterator[HarvestPage]:
    return iter_oai_pages(
        client,
        base_url=f"{server.url}/oai",
        set_spec=set_spec,
        from_date=None,
        until_date=None,
        resumption_token=resumption_token,
    )


def test_oai_harvest_follows_the_real_resumption_token(
    client: PoliteClient, replay_server: ReplayServer, oai_dir: Path, fake_time: FakeTime
) -> None:
    route_oai_pages(replay_server, oai_dir)
    last = Reply(body=as_last_page((oai_dir / "ListRecordsResponse.xml").read_bytes()))
    replay_server.route("/oai", last, query={"resumptionToken": SECOND_TOKEN})

    pages = list(
        iter_oai_pages(
            client,
            base_url=f"{replay_server.url}/oai",
            set_spec="cs",
            from_date=date(2014, 10, 1),
            until_date=date(2014, 10, 31),
        )
    )

    assert [len(page.records) for page in pages] == [6, 387, 6]
    assert [page.resumption_token_after for page in pages] == [FIRST_TOKEN, SECOND_TOKEN, None]
    assert pages[0].complete_list_size == 58011
    sent = [request.params for request in replay_server.requests]
    assert sent == [
        {
            "verb": "ListRecords",
            "metadataPrefix": "arXivRaw",
            "set": "cs",
            "from": "2014-10-01",
            "until": "2014-10-31",
        },
        {"verb": "ListRecords", "resumptionToken": FIRST_TOKEN},
        {"verb": "ListRecords", "resumptionToken": SECOND_TOKEN},
    ]
    assert fake_time.sleeps == [3.0, 3.0]  # arXiv's interval between the three requests
    records = [r for page in pages[:2] for r in page.records]
    assert all(isinstance(r, PaperRecord) and r.source is SourceName.ARXIV_OAI for r in records)
    assert pages[0].url.endswith(
        "/oai?verb=ListRecords&metadataPrefix=arXivRaw&set=cs&from=2014-10-01&until=2014-10-31"
    )


def test_error_mid_harvest_leaves_the_last_stored_token_to_resume_from(
    client: PoliteClient, replay_server: ReplayServer, oai_dir: Path
) -> None:
    route_oai_pages(replay_server, oai_dir)
    replay_server.route("/oai", file_reply(oai_dir / "ErrorResponseBadResumptionToken.xml"))
    checkpoint = None
    stored = 0

    with pytest.raises(HarvestError) as caught:
        for page in harvest(client, replay_server):
            stored += len(page.records)
            checkpoint = page.resumption_token_after

    assert stored == 6 + 387
    assert checkpoint == SECOND_TOKEN
    assert "badResumptionToken" in caught.value.reason
    assert "resumptionToken=1403493%7C1001" in caught.value.url


def test_resuming_from_a_token_skips_the_first_page(
    client: PoliteClient, replay_server: ReplayServer, oai_dir: Path
) -> None:
    route_oai_pages(replay_server, oai_dir)

    first = next(harvest(client, replay_server, resumption_token=FIRST_TOKEN))

    assert len(first.records) == 387
    assert first.resumption_token_after == SECOND_TOKEN
    assert [r.params for r in replay_server.requests] == [
        {"verb": "ListRecords", "resumptionToken": FIRST_TOKEN}
    ]


def test_no_records_match_is_an_empty_harvest(
    client: PoliteClient, replay_server: ReplayServer, oai_dir: Path
) -> None:
    replay_server.route("/oai", file_reply(oai_dir / "ErrorResponseNoRecordsMatch.xml"))

    assert list(harvest(client, replay_server, set_spec="moo")) == []
    assert len(replay_server.requests) == 1


@pytest.mark.parametrize(
    ("filename", "code", "message"),
    [
        ("ErrorResponseBadResumptionToken.xml", "badResumptionToken", "illegal for this"),
        ("ErrorResponseBadArgument.xml", "badArgument", "illegal argument 'identifier'"),
        ("ErrorResponseBadVerb.xml", "badVerb", "Verb 'wah' not implemented"),
        ("ErrorResponseIdDoesNotExist.xml", "idDoesNotExist", "does not correspond"),
    ],
)
def test_oai_errors_raise_with_code_and_message(
    client: PoliteClient,
    replay_server: ReplayServer,
    oai_dir: Path,
    filename: str,
    code: str,
    message: str,
) -> None:
    replay_server.route("/oai", file_reply(oai_dir / filename))

    with pytest.raises(HarvestError) as caught:
        list(harvest(client, replay_server, resumption_token="3"))

    assert caught.value.reason.startswith(f"OAI-PMH error {code}: ")
    assert message in caught.value.reason
    assert len(replay_server.requests) == 1  # an OAI error is an answer, not a failure to retry


def test_a_truncated_page_is_an_error_not_the_end_of_the_list(
    client: PoliteClient, replay_server: ReplayServer, oai_dir: Path
) -> None:
    # Cut before its resumptionToken, a page would otherwise look like the last one.
    cut = (oai_dir / "ListRecordsResponse.xml").read_bytes()[:5000]
    replay_server.route("/oai", Reply(body=cut))

    with pytest.raises(HarvestError, match="malformedXML"):
        list(harvest(client, replay_server))


def test_a_token_that_does_not_advance_stops_the_harvest(
    client: PoliteClient, replay_server: ReplayServer, oai_dir: Path
) -> None:
    replay_server.route("/oai", file_reply(oai_dir / "ListRecordsResponse.xml"))

    with pytest.raises(HarvestError, match="did not advance"):
        list(harvest(client, replay_server, resumption_token=FIRST_TOKEN))


def test_oai_harvest_waits_out_a_503_with_retry_after(
    client: PoliteClient, replay_server: ReplayServer, oai_dir: Path, fake_time: FakeTime
) -> None:
    replay_server.route(
        "/oai",
        status_reply(503, retry_after="10"),
        file_reply(oai_dir / "ListRecords-387-reindented.xml"),
    )

    first = next(harvest(client, replay_server, resumption_token=FIRST_TOKEN))

    assert len(first.records) == 387
    assert fake_time.sleeps == [10.0]
    assert len(replay_server.requests) == 2


@pytest.mark.parametrize(
    ("category", "oai_set"),
    [
        ("cs.LG", "cs"),
        ("math.GT", "math"),
        ("math.MP", "math"),
        ("stat.ML", "stat"),
        ("eess.SP", "eess"),
        ("econ.EM", "econ"),
        ("q-bio.NC", "q-bio"),
        ("q-fin.ST", "q-fin"),
        ("astro-ph.CO", "physics:astro-ph"),
        ("astro-ph", "physics:astro-ph"),
        ("cond-mat.mes-hall", "physics:cond-mat"),
        ("hep-th", "physics:hep-th"),
        ("hep-ex", "physics:hep-ex"),
        ("gr-qc", "physics:gr-qc"),
        ("quant-ph", "physics:quant-ph"),
        ("math-ph", "physics:math-ph"),
        ("nucl-th", "physics:nucl-th"),
        ("nlin.AO", "physics:nlin"),
        ("physics.optics", "physics:physics"),
        ("chao-dyn", "physics:nlin"),
        ("cmp-lg", "cs"),
    ],
)
def test_oai_set_for_category(category: str, oai_set: str) -> None:
    assert oai_set_for_category(category) == oai_set


def test_oai_set_for_unknown_category() -> None:
    with pytest.raises(ValueError, match="'bio.XX'"):
        oai_set_for_category("bio.XX")


@pytest.mark.parametrize("filename", ["ListRecordsResponse.xml", "ListRecords-387-reindented.xml"])
def test_set_mapping_agrees_with_arxivs_own_record_headers(oai_dir: Path, filename: str) -> None:
    """Each recorded record's <setSpec>s are exactly the sets of its categories."""
    tree = etree.parse(oai_dir / filename)
    records = tree.iterfind(".//o:record", OAI_NAMESPACES)
    checked = 0
    for record in records:
        header_sets = {s.text for s in record.iterfind("o:header/o:setSpec", OAI_NAMESPACES)}
        categories = record.findtext("o:metadata/r:arXivRaw/r:categories", None, OAI_NAMESPACES)
        assert categories is not None
        assert {oai_set_for_category(c) for c in categories.split()} == header_sets, categories
        checked += 1
    assert checked in (6, 387)


def api(server: ReplayServer) -> str:
    return f"{server.url}/api/query"


def test_lookup_by_id_returns_the_recorded_entries(
    client: PoliteClient, replay_server: ReplayServer, api_dir: Path
) -> None:
    replay_server.add_api_recordings(api_dir)

    [paper] = fetch_arxiv_by_ids(client, base_url=api(replay_server), ids=["2104.12255v1"])
    [old] = fetch_arxiv_by_ids(client, base_url=api(replay_server), ids=["arXiv:astro-ph/0601001"])

    assert isinstance(paper, PaperRecord) and paper.paper_id == "2104.12255"
    assert paper.title == "0"  # a real title, and a good test of falsy values
    assert isinstance(old, PaperRecord) and old.paper_id == "astro-ph/0601001"
    assert old.source is SourceName.ARXIV_API
    assert [r.params["id_list"] for r in replay_server.requests] == [
        "2104.12255v1",
        "astro-ph/0601001",
    ]


def test_lookup_reports_ids_the_api_does_not_know(
    client: PoliteClient, replay_server: ReplayServer, api_dir: Path
) -> None:
    replay_server.add_api_recordings(api_dir)

    results = list(
        fetch_arxiv_by_ids(client, base_url=api(replay_server), ids=["0808.05394", "1707.08567"])
    )
    [missing] = list(fetch_arxiv_by_ids(client, base_url=api(replay_server), ids=["0000.0000"]))

    [found, not_found] = results
    assert isinstance(found, PaperRecord) and found.paper_id == "1707.08567"
    assert isinstance(not_found, RecordError) and not_found.location == "0808.05394"
    assert "no entry" in not_found.reason
    assert isinstance(missing, RecordError) and missing.location == "0000.0000"
    assert len(replay_server.requests) == 2  # both ids of the first lookup in one request


def test_malformed_ids_are_reported_not_sent(
    client: PoliteClient, replay_server: ReplayServer, api_dir: Path
) -> None:
    replay_server.add_api_recordings(api_dir)

    results = list(
        fetch_arxiv_by_ids(client, base_url=api(replay_server), ids=["abc", "1605.08386"])
    )

    assert isinstance(results[0], RecordError) and results[0].location == "abc"
    assert "not an arXiv identifier" in results[0].reason
    assert [r.paper_id for r in results if isinstance(r, PaperRecord)] == ["1605.08386"]
    assert [r.params["id_list"] for r in replay_server.requests] == ["1605.08386"]


def test_api_http_400_error_feed_raises_with_arxivs_message(
    client: PoliteClient, replay_server: ReplayServer, api_dir: Path, fake_time: FakeTime
) -> None:
    replay_server.add_api_recordings(api_dir)
    _, query, _ = load_api_recording(api_dir / "id_abc_s0_m100_b79c8dcf6bc3.json")

    with pytest.raises(HarvestError) as caught:
        fetch_atom_page(client, base_url=api(replay_server), params=dict(query))

    assert caught.value.status_code == 400
    assert caught.value.reason == "arXiv API rejected the query: incorrect id format for abc"
    assert "id_list=abc" in caught.value.url
    assert len(replay_server.requests) == 1 and fake_time.sleeps == []


def test_lookup_in_batches(
    client: PoliteClient, replay_server: ReplayServer, api_dir: Path
) -> None:
    for name in (
        "id_1605.08386_s0_m100_199195aa31ad.json",
        "id_1707.08567_s0_m100_6a1afebfc6a3.json",
    ):
        _, query, reply = load_api_recording(api_dir / name)
        replay_server.route("/api/query", reply, query={"id_list": dict(query)["id_list"]})

    ids = ["1605.08386", "1707.08567", "https://arxiv.org/abs/1605.08386"]
    results = list(fetch_arxiv_by_ids(client, base_url=api(replay_server), ids=ids, batch_size=1))

    assert [r.paper_id for r in results if isinstance(r, PaperRecord)] == [
        "1605.08386",
        "1707.08567",
    ]
    # The URL form of 1605.08386 is the same paper: deduplicated, not requested twice.
    assert [r.params["id_list"] for r in replay_server.requests] == ["1605.08386", "1707.08567"]
    assert all(r.params["max_results"] == "1" for r in replay_server.requests)


def test_rss_fetch_joins_categories_in_one_request(
    client: PoliteClient, replay_server: ReplayServer, shared_data: Path
) -> None:
    feed = shared_data / "arxiv-rss" / "cs.AI-2025-08-20.xml"
    replay_server.route("/rss/cs.AI", file_reply(feed))
    replay_server.route("/rss/cs.AI+cs.LG", file_reply(feed))

    single = list(
        fetch_arxiv_rss(client, base_url=f"{replay_server.url}/rss", categories=["cs.AI"])
    )
    both = list(
        fetch_arxiv_rss(client, base_url=f"{replay_server.url}/rss/", categories=["cs.AI", "cs.LG"])
    )

    assert len(single) == 7 and all(isinstance(r, PaperRecord) for r in single)
    assert single[0].paper_id == "2508.13426"  # type: ignore[union-attr]
    assert len(both) == 7
    assert [r.path for r in replay_server.requests] == ["/rss/cs.AI", "/rss/cs.AI+cs.LG"]


def test_rss_rejects_unknown_categories_without_a_request(
    client: PoliteClient, replay_server: ReplayServer
) -> None:
    with pytest.raises(ValueError, match="unknown arXiv category"):
        list(
            fetch_arxiv_rss(client, base_url=f"{replay_server.url}/rss", categories=["cs.LG", "xx"])
        )
    assert replay_server.requests == []
