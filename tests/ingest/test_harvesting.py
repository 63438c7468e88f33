"""Harvest services end to end: a real local server replaying recorded answers, a real store."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from dailypapers.cli import main
from dailypapers.config import Settings, load_settings
from dailypapers.harvest.http import HarvestError, client_from_settings
from dailypapers.ingest.harvesting import OaiHarvest, harvest_arxiv_oai, wanted_category
from dailypapers.models import PaperRecord
from dailypapers.sources.arxiv_oai import parse_oai_page
from dailypapers.store.checkpoints import get_checkpoint
from dailypapers.store.engine import open_store
from dailypapers.store.papers import count_papers
from tests.replay_server import JSON, ReplayServer, Reply, as_last_page, file_reply, status_reply

FIRST_TOKEN = "726959|1001"
SECOND_TOKEN = "1403493|1001"
NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
WANTED = ["math"]


def fast_settings(home: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "home": home,
        "arxiv_request_interval_s": 0.0,
        "hf_request_interval_s": 0.0,
        "http_backoff_s": 0.01,
        "http_max_retries": 1,
        "http_timeout_s": 5.0,
    }
    values.update(overrides)
    return load_settings({}, **values)


def wanted_ids(*pages: bytes) -> set[str]:
    ids = set()
    for data in pages:
        for record in parse_oai_page(data, origin="page").records:
            assert isinstance(record, PaperRecord) and record.paper_id
            if any(wanted_category(c, WANTED) for c in record.categories):
                ids.add(record.paper_id)
    return ids


def test_interrupted_oai_harvest_resumes_from_its_checkpoint(
    tmp_path: Path, shared_data: Path
) -> None:
    oai = shared_data / "arxiv-oai-pmh"
    first, second = (
        (oai / "ListRecordsResponse.xml").read_bytes(),
        (oai / "ListRecords-387-reindented.xml").read_bytes(),
    )
    request = OaiHarvest(categories=WANTED, from_date=date(2014, 10, 1), until_date=None)

    with ReplayServer() as server:
        server.route("/oai", Reply(body=first), query={"metadataPrefix": "arXivRaw"})
        server.route(
            "/oai", status_reply(503, retry_after="0"), query={"resumptionToken": FIRST_TOKEN}
        )
        settings = fast_settings(tmp_path, arxiv_oai_url=f"{server.url}/oai")
        engine = open_store(settings)
        with (
            client_from_settings(settings, min_interval_s=0) as client,
            pytest.raises(HarvestError),
        ):
            harvest_arxiv_oai(engine, client, settings, request, now=NOW)
    assert count_papers(engine) == len(wanted_ids(first))
    saved = orjson.loads(get_checkpoint(engine, key="arxiv-oai:math") or "{}")
    assert saved["token"] == FIRST_TOKEN

    with ReplayServer() as server:
        server.route("/oai", Reply(body=second), query={"resumptionToken": FIRST_TOKEN})
        server.route(
            "/oai", Reply(body=as_last_page(first)), query={"resumptionToken": SECOND_TOKEN}
        )
        settings = fast_settings(tmp_path, arxiv_oai_url=f"{server.url}/oai")
        with client_from_settings(settings, min_interval_s=0) as client:
            summary = harvest_arxiv_oai(engine, client, settings, request, now=NOW)
        sent = [r.params for r in server.requests]
    # The harvest resumed at the saved token instead of starting again.
    assert sent[0] == {"verb": "ListRecords", "resumptionToken": FIRST_TOKEN}
    assert summary.failed == 0
    assert count_papers(engine) == len(wanted_ids(first, second))
    done = orjson.loads(get_checkpoint(engine, key="arxiv-oai:math") or "{}")
    assert done == {"done_until": "2026-11-23"}
    engine.dispose()


def test_next_harvest_starts_where_the_last_one_finished(tmp_path: Path, shared_data: Path) -> None:
    page = as_last_page((shared_data / "arxiv-oai-pmh" / "ListRecordsResponse.xml").read_bytes())
    with ReplayServer() as server:
        server.route("/oai", Reply(body=page))
        settings = fast_settings(tmp_path, arxiv_oai_url=f"{server.url}/oai")
        engine = open_store(settings)
        with client_from_settings(settings, min_interval_s=0) as client:
            first = OaiHarvest(categories=["cs.LG"], from_date=None, until_date=date(2026, 11, 1))
            harvest_arxiv_oai(engine, client, settings, first, now=NOW)
            again = OaiHarvest(categories=["cs.LG"], from_date=None, until_date=None)
            harvest_arxiv_oai(engine, client, settings, again, now=NOW)
        sent = [r.params for r in server.requests]
    engine.dispose()
    assert sent[0]["from"] == "2026-10-25"  # a first run looks back one week
    assert (sent[1]["from"], sent[1]["until"]) == ("2026-11-01", "2026-11-23")


def test_cli_harvest_hf_stores_upvotes_and_exit_codes(tmp_path: Path, shared_data: Path) -> None:
    daily = shared_data / "hf-daily-papers" / "daily_papers-2024-10-25.first4.json"
    with ReplayServer() as server:
        server.route("/api/daily_papers", file_reply(daily, content_type=JSON))
        env = {"DAILYPAPERS_HF_URL": server.url, "DAILYPAPERS_HF_REQUEST_INTERVAL_S": "0"}
        args = ["--home", str(tmp_path), "harvest", "hf", "--date", "2024-10-25", "--json"]
        result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 0, result.stderr
    assert orjson.loads(result.stdout)["imported"] == 4
    shown = CliRunner().invoke(
        main, ["--home", str(tmp_path), "papers", "show", "2410.17243", "--json"]
    )
    assert orjson.loads(shown.stdout)["upvotes"] == 64


def test_cli_harvest_upstream_failure_exits_4(tmp_path: Path) -> None:
    with ReplayServer() as server:
        server.route("/api/daily_papers", status_reply(500))
        env = {
            "DAILYPAPERS_HF_URL": server.url,
            "DAILYPAPERS_HF_REQUEST_INTERVAL_S": "0",
            "DAILYPAPERS_HTTP_MAX_RETRIES": "1",
            "DAILYPAPERS_HTTP_BACKOFF_S": "0.01",
        }
        args = ["--home", str(tmp_path), "harvest", "hf", "--date", "2024-10-25"]
        result = CliRunner().invoke(main, args, env=env)
        assert len(server.requests) == 2
    assert result.exit_code == 4
    assert "500" in result.stderr


def test_cli_harvest_needs_categories_or_ids(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--home", str(tmp_path), "harvest", "arxiv"])
    assert result.exit_code == 2 and "--categories" in result.stderr
