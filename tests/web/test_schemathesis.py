"""Schema-driven fuzzing of the JSON API: every operation in /openapi.json, called in-process
with generated valid and invalid input, signed in as an admin with an API token. No response
may be a server error, and every response must match what the schema declares.

Schemathesis's own pytest integration (`schemathesis.pytest.from_fixture`) sets
`request.node._nodeid`, which pytest 9 nodes no longer have, so the generated cases are driven
here with Hypothesis directly through each operation's `as_strategy`.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from hypothesis.strategies import SearchStrategy
from schemathesis import GenerationMode, checks

from dailypapers.store.accounts import set_admin
from dailypapers.web.app import create_app
from tests.replay_server import closed_port_url
from tests.web.conftest import site_settings
from tests.web.test_security import bearer, user_with_token

POSITIVE_EXAMPLES = 15
NEGATIVE_EXAMPLES = 10
# Random path segments almost never name a stored paper, day or comment; this many more cases
# per operation use real ones, so the fuzz also reaches the answers that find something.
REAL_PATH_EXAMPLES = 10
CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            # A generated query string past the 4 KiB the site reads is refused with 414 first.
            "negative_data_rejection": {
                "expected-statuses": [400, 401, 403, 404, 405, 409, 413, 414, 415, 422, 429]
            },
            # The API also checks what the schema cannot say (calendar dates, the query
            # language, arXiv ids, a comment of only spaces) and answers 422 naming the field.
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "3xx", 401, 403, 404, 409, 414, 422, 429]
            },
        }
    }
)
FUZZ_SETTINGS = settings(
    deadline=None,
    database=None,  # nothing written into the checkout
    derandomize=True,  # the same cases every run, so a failure here is reproducible
    suppress_health_check=list(HealthCheck),
)
PATH_PARAMETER = re.compile(r"\{(\w+)\}")
Statuses = Counter[tuple[str, int]]


@pytest.fixture(scope="module")
def fuzzed_app(seeded_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """The site over a private copy of the seeded data, shared by every generated case."""
    home = tmp_path_factory.mktemp("fuzz") / "home"
    shutil.copytree(seeded_home, home)
    app = create_app(site_settings(home))
    yield app
    app.state.dp.engine.dispose()


@pytest.fixture(scope="module")
def admin_token(fuzzed_app: FastAPI) -> str:
    """An API token of an admin, so the admin operations are exercised past the 403."""
    with TestClient(fuzzed_app, base_url="http://testserver") as client:
        token = user_with_token(client, "fuzzer")
    assert set_admin(fuzzed_app.state.dp.engine, username="fuzzer", is_admin=True)
    return token


def real_path_values(app: FastAPI, token: str) -> dict[str, str]:
    """Path parameters that name stored things: a listed paper, its day, week and month, the
    fuzzing user, and a comment of theirs."""
    with TestClient(app, base_url="http://testserver") as client:
        top = client.get("/api/daily_papers", params={"limit": 1}).json()[0]["paper"]["id"]
        paper = client.get(f"/api/v1/papers/{top}").json()["paper"]
        comment = client.post(
            "/api/v1/comments",
            json={"paper_id": paper["id"], "body": "a comment to fuzz"},
            headers=bearer(token),
        ).json()
    day = date.fromisoformat(paper["list_date"])
    year, week, _ = day.isocalendar()
    return {
        "paper_id": paper["id"],
        "day": day.isoformat(),
        "week": f"{year}-W{week:02d}",
        "month": f"{day:%Y-%m}",
        "username": "fuzzer",
        "comment_id": str(comment["id"]),
    }


def excused(case: schemathesis.Case, response: schemathesis.Response) -> list[Any]:
    """Checks not to apply to one response: only the documented 503 of a semantic search on a
    site without embeddings (the fuzzed site has none: building them takes minutes)."""
    if response.status_code != 503:
        return []
    query = case.query or {}
    assert query.get("mode") == "semantic" and "no papers are embedded" in response.text
    return [checks.not_a_server_error, checks.positive_data_acceptance]


def fuzz(
    operation: schemathesis.APIOperation,
    strategy: SearchStrategy[schemathesis.Case],
    examples: int,
    token: str,
    statuses: Statuses,
) -> str | None:
    """Run generated cases of one operation; what schemathesis's checks found, if anything."""

    @settings(FUZZ_SETTINGS, max_examples=examples)
    @given(case=strategy)
    def run(case: schemathesis.Case) -> None:
        response = case.call(headers=bearer(token))
        statuses[operation.label, response.status_code] += 1
        case.validate_response(
            response, headers=bearer(token), excluded_checks=excused(case, response)
        )

    try:
        run()
    except Unsatisfiable:
        return None  # no invalid value exists (a free-text path segment): nothing to send
    except (Exception, BaseExceptionGroup) as failure:  # reported with the operation's name
        return f"{operation.label}: {failure}"
    return None


def fuzz_operation(
    operation: schemathesis.APIOperation, token: str, real: dict[str, str], statuses: Statuses
) -> list[str]:
    runs = [
        (operation.as_strategy(GenerationMode.POSITIVE), POSITIVE_EXAMPLES),
        (operation.as_strategy(GenerationMode.NEGATIVE), NEGATIVE_EXAMPLES),
    ]
    names = PATH_PARAMETER.findall(operation.path)
    if names and all(name in real for name in names):
        fixed = {name: real[name] for name in names}
        runs.append((operation.as_strategy(path_parameters=fixed), REAL_PATH_EXAMPLES))
    found = (fuzz(operation, strategy, examples, token, statuses) for strategy, examples in runs)
    return [failure for failure in found if failure]


def test_api_answers_generated_requests_as_its_schema_says(
    fuzzed_app: FastAPI, admin_token: str
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app, config=CONFIG)
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = {operation.label for operation in operations}
    # The fuzz run reaches the writes and the admin operations, not only the reads.
    assert {"POST /api/v1/votes", "PATCH /api/v1/comments/{comment_id}"} <= labels
    assert "PUT /api/v1/admin/papers/{paper_id}/hidden" in labels
    real = real_path_values(fuzzed_app, admin_token)
    statuses: Statuses = Counter()
    failures = [
        failure
        for operation in operations
        for failure in fuzz_operation(operation, admin_token, real, statuses)
    ]
    assert failures == [], "\n\n".join(failures)
    assert {label for label, _ in statuses} == labels  # every operation was called ...
    assert not [key for key in statuses if key[1] == 401]  # ... always as the signed-in admin
    succeeded = {label for label, status in statuses if status < 300}
    for label in ("GET /api/v1/papers/date/{day}", "GET /api/v1/papers/{paper_id}"):
        assert label in succeeded  # and found real things, not only 404s and 422s


def test_a_submission_arxiv_cannot_answer_is_a_502_the_schema_declares(site_home: Path) -> None:
    settings = site_settings(
        site_home,
        submit_lookup_online=True,
        arxiv_api_url=closed_port_url() + "/api/query",
        arxiv_request_interval_s=0,
    )
    app = create_app(settings)
    try:
        with TestClient(app, base_url="http://testserver") as client:
            token = user_with_token(client, "submitter")
        schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)
        operation = schema["/api/v1/submissions"]["POST"]
        case = operation.Case(body={"paper": "1707.08567"})  # not stored here
        response = case.call(headers=bearer(token))
        assert response.status_code == 502
        # A 502 is what the operation answers here: the check is that the schema says so.
        case.validate_response(
            response, headers=bearer(token), excluded_checks=[checks.not_a_server_error]
        )
    finally:
        app.state.dp.engine.dispose()
