"""Queries with nothing to search for, and dates out of range, are refused the same way at every
entry point: the CLI (exit 2), the JSON API and the HF-compatible API (422 naming the field), the
search page (a 422 page with the message) and the search feed (422)."""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from dailypapers.cli import main
from dailypapers.config import load_settings
from dailypapers.index.build import sync_keyword_index
from dailypapers.search.query import EMPTY_QUERY
from dailypapers.store.engine import open_store
from dailypapers.web.app import create_app
from tests.search.conftest import import_files

NOTHING_TO_SEARCH = ["$", "---", "- -", '"$"', "-graph"]
# (query parameters, the field named); the dates crashed search with OverflowError.
OUT_OF_RANGE = [
    ({"q": "graph", "from": "9999-12-31"}, "from"),
    ({"q": "graph", "from": "0001-01-01"}, "from"),
    ({"q": "graph", "until": "9999-12"}, "until"),
    ({"q": "graph from:9999-12-31"}, "q"),
]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("refused")
    settings = load_settings({}, home=root / "home")
    engine = open_store(settings)
    path = root / "papers.jsonl"
    record = {"id": "2601.00001", "title": "Graph colouring", "published": "2025-01-02"}
    path.write_bytes(orjson.dumps(record) + b"\n")
    import_files(engine, [path], "generic")
    sync_keyword_index(engine, settings)
    engine.dispose()
    return settings.home


@pytest.fixture(scope="module")
def client(home: Path) -> Iterator[TestClient]:
    settings = load_settings({}, home=home, page_cache_s=0, submit_lookup_online=False)
    app = create_app(settings)
    with TestClient(app, base_url="http://localhost") as test_client:
        yield test_client
    app.state.dp.engine.dispose()


def _cli(home: Path, query: str, *options: str) -> tuple[int, str]:
    arguments = ["--home", str(home), "search", *options, "--", query]
    result = CliRunner().invoke(main, arguments, env={})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stderr


def test_the_query_that_matches_works(home: Path, client: TestClient) -> None:
    code, _ = _cli(home, "graph", "--mode", "keyword", "--from", "2025")
    assert code == 0
    assert _found(client, {"q": "graph", "mode": "keyword"}) == ["2601.00001"]


def _found(client: TestClient, params: dict[str, str]) -> list[str]:
    answer = client.get("/api/v1/search", params=params)
    assert answer.status_code == 200, answer.text
    return [hit["paper"]["id"] for hit in answer.json()["hits"]]


def _refused(answer: httpx.Response) -> tuple[str, str | None]:
    """The message and field of a 422 error answer."""
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    return error["message"], error["field"]


@pytest.mark.parametrize("text", ["", *NOTHING_TO_SEARCH])
def test_cli_refuses_a_query_with_nothing_to_search_for(home: Path, text: str) -> None:
    code, errors = _cli(home, text)
    assert code == 2 and EMPTY_QUERY in errors


@pytest.mark.parametrize("text", NOTHING_TO_SEARCH)
def test_site_refuses_a_query_with_nothing_to_search_for(client: TestClient, text: str) -> None:
    for path in ("/api/v1/search", "/api/papers/search", "/feeds/search.atom"):
        assert _refused(client.get(path, params={"q": text})) == (EMPTY_QUERY, "q"), path
    page = client.get("/search", params={"q": text})
    assert page.status_code == 422 and "text/html" in page.headers["content-type"]
    assert EMPTY_QUERY in html.unescape(page.text)


@pytest.mark.parametrize(("params", "field"), OUT_OF_RANGE)
def test_site_refuses_dates_out_of_range(
    client: TestClient, params: dict[str, str], field: str
) -> None:
    for path in ("/api/v1/search", "/feeds/search.atom"):
        message, named = _refused(client.get(path, params=params))
        assert "year from 2 to 9998" in message and named == field, path
    page = client.get("/search", params=params)
    assert page.status_code == 422 and "year from 2 to 9998" in page.text


@pytest.mark.parametrize(
    ("query", "options"),
    [
        ("graph", ("--from", "9999-12-31")),
        ("graph", ("--from", "0001-01-01")),
        ("graph", ("--until", "9999-12")),
        ("graph from:9999-12-31", ()),
    ],
)
def test_cli_refuses_dates_out_of_range(home: Path, query: str, options: tuple[str, ...]) -> None:
    code, errors = _cli(home, query, *options)
    assert code == 2 and "year from 2 to 9998" in errors and "Traceback" not in errors


@pytest.mark.parametrize(
    ("args", "found"),
    [
        (("--until", "9998-12-31"), True),
        (("--from", "0002-01-01"), True),
        (("--from", "9998-12-31"), False),
        (("--until", "1000"), False),
    ],
)
def test_far_dates_inside_the_range_still_search(
    home: Path, client: TestClient, args: tuple[str, str], found: bool
) -> None:
    # The keyword index holds dates from 1677 to 2262 only; papers are all inside.
    code, _ = _cli(home, "graph", "--mode", "keyword", *args)
    assert code == 0
    params = {"q": "graph", "mode": "keyword", args[0][2:]: args[1]}
    assert _found(client, params) == (["2601.00001"] if found else [])
