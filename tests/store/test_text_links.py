"""Code and project links from a paper's own comments and abstract: what real arXiv texts say,
taken at import (never guessed), and never over a link a source gives in its own field."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from dailypapers.ingest.files import ImportOptions, import_paths
from dailypapers.store.papers import get_paper
from dailypapers.store.text_links import find_code_url, find_project_url

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
# Real papers of the arXiv cs listing of 2025-03-18 and the code link each one gives.
REAL_CODE_LINKS = {
    "2503.11781": "https://github.com/gosha20777/cmKAN",
    "2503.11787": "https://www.github.com/sremedios/eclare",  # "...available at URL."
    "2503.12418": "https://github.com/xielaobanyy/causal-imt",  # \href{URL}{URL}
    "2503.12527": "https://github.com/yiyscut/VIO-IPNet",  # \textcolor{red}{URL.git}.
    "2503.12419": "https://github.com/3190105222/EgoEv_Gesture",  # in the comments too
    "2503.12460": "https://github.com/Xu3XiWang/CAD-GD",  # "Code will be at github.com/..."
    "2503.11930": None,  # only a Hugging Face dataset: data, not code
    "2503.12052": None,  # a project page on github.io is not a repository
    "2503.11731": None,  # no link at all
}


@pytest.fixture(scope="module")
def listing(shared_data: Path) -> dict[str, dict[str, str | None]]:
    path = shared_data / "arxiv-cs-2025" / "2025-03-18.jsonl"
    items = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())
    return {item["id"]: item for item in items}


def test_real_comments_and_abstracts_give_their_code_links(
    listing: dict[str, dict[str, str | None]],
) -> None:
    for paper_id, expected in REAL_CODE_LINKS.items():
        item = listing[paper_id]
        assert find_code_url((item["comment"], item["summary"])) == expected, paper_id


def test_a_labelled_project_page_is_taken_and_nothing_else(
    listing: dict[str, dict[str, str | None]],
) -> None:
    item = listing["2503.12052"]
    assert find_project_url((item["comment"], item["summary"])) == "https://human-tailor.github.com"
    item = listing["2503.11781"]
    assert find_project_url((item["comment"], item["summary"])) is None


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        # A repository wins over a model, the one introduced as code over the first.
        (
            [
                "Models: https://huggingface.co/org/model. See https://github.com/other/lib and "
                "our code at https://github.com/ours/repo."
            ],
            "https://github.com/ours/repo",
        ),
        (
            ["Demo: https://huggingface.co/spaces/org/demo"],
            "https://huggingface.co/spaces/org/demo",
        ),
        (["https://huggingface.co/papers/2501.00001 and https://huggingface.co/spaces/x"], None),
        (["the site https://github.com/about/careers is not code"], None),
        (["a user page https://github.com/someone only"], None),
        (["javascript:alert(1)//github.com/a/b"], None),
        (["mail me at me@github.com/a/b"], None),
        (["see https://gitlab.com/group/project, and more"], "https://gitlab.com/group/project"),
        ([None, ""], None),
    ],
)
def test_which_link_is_taken(texts: list[str | None], expected: str | None) -> None:
    assert find_code_url(texts) == expected


def test_import_fills_code_links_and_keeps_hugging_faces_own(
    engine: sa.Engine, listing: dict[str, dict[str, str | None]], shared_data: Path, tmp_path: Path
) -> None:
    extract = tmp_path / "listing.jsonl"
    extract.write_text(
        "".join(json.dumps(listing[paper_id]) + "\n" for paper_id in REAL_CODE_LINKS),
        encoding="utf-8",
    )
    options = ImportOptions(format="auto", reference_date=date(2025, 3, 18), batch_size=500)
    import_paths(engine, [extract], options, now=NOW)
    for paper_id, expected in REAL_CODE_LINKS.items():
        paper = get_paper(engine, paper_id=paper_id)
        assert paper is not None and paper.code_url == expected, paper_id
    tailor = get_paper(engine, paper_id="2503.12052")
    assert tailor is not None and tailor.project_url == "https://human-tailor.github.com"

    # Hugging Face's daily list names a repository in its own field: that one is shown, and a
    # later arXiv import (whose abstract names another) does not replace it.
    daily = orjson.loads(
        (shared_data / "hf-daily-papers" / "daily_papers-2024-10-25.first4.json").read_bytes()
    )
    item = daily[0]
    item["paper"]["id"] = "2503.11781"
    item["paper"]["githubRepo"] = "https://github.com/hf-listed/repo"
    hf_file = tmp_path / "daily_papers.json"
    hf_file.write_bytes(orjson.dumps([item]))
    import_paths(engine, [hf_file], options, now=NOW)
    import_paths(engine, [extract], options, now=NOW)
    paper = get_paper(engine, paper_id="2503.11781")
    assert paper is not None and paper.code_url == "https://github.com/hf-listed/repo"
