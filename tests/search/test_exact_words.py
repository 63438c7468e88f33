"""Quoted phrases and exclusions match the words as written; free words stay stemmed."""

from __future__ import annotations

import re
from collections.abc import Iterator

import orjson
import pytest

from dailypapers.config import load_settings
from dailypapers.index.build import build_indexes
from dailypapers.index.embeddings import Embedder
from dailypapers.models import SearchMode
from dailypapers.search.service import Searcher
from dailypapers.store.engine import open_store
from tests.search.conftest import import_files

PAPERS = [
    ("2601.00001", "Diffuse scattering in disordered crystals", "We measure diffuse X-ray haze."),
    ("2601.00002", "Thermal diffusivities of layered oxides", "Heat spreads slowly in oxides."),
    ("2601.00003", "Diffusion models for image synthesis", "Denoising diffusion models."),
    ("2601.00004", "Video diffusion models", "Diffusion models that generate a video."),
    ("2601.00005", "Schrödinger bridges", "A diffusion Schrödinger bridge between images."),
    ("2601.00006", "Learning from videos", "Self-supervised learning from videos of people."),
    ("2601.00007", "Learning to grasp", "Robots learning to grasp from one video."),
]
MODES: list[SearchMode] = ["keyword", "semantic", "hybrid"]


@pytest.fixture(scope="module")
def searcher(tmp_path_factory: pytest.TempPathFactory, minilm: Embedder) -> Iterator[Searcher]:
    root = tmp_path_factory.mktemp("exact")
    settings = load_settings({}, home=root / "home")
    engine = open_store(settings)
    path = root / "papers.jsonl"
    lines = [orjson.dumps({"id": i, "title": t, "abstract": a}) for i, t, a in PAPERS]
    path.write_bytes(b"\n".join(lines) + b"\n")
    import_files(engine, [path], "generic")
    build_indexes(engine, settings, embedder=minilm)
    yield Searcher(engine, settings, embedder=minilm)
    engine.dispose()


def _ids(searcher: Searcher, text: str, mode: SearchMode = "keyword") -> set[str]:
    return {hit.paper_id for hit in searcher.search(text, mode=mode, limit=20).hits}


@pytest.mark.parametrize("mode", MODES)
def test_a_quoted_word_is_not_stemmed(searcher: Searcher, mode: SearchMode) -> None:
    # "Diffuse" and "diffusivities" share the stem of "diffusion" but are other words.
    assert _ids(searcher, '"diffusion"', mode) == {"2601.00003", "2601.00004", "2601.00005"}


def test_free_words_stay_stemmed(searcher: Searcher) -> None:
    assert {"2601.00001", "2601.00003"} <= _ids(searcher, "diffusion")
    assert {"2601.00006", "2601.00007"} <= _ids(searcher, "video")


def test_phrases_fold_case_and_accents_but_keep_word_forms(searcher: Searcher) -> None:
    assert _ids(searcher, '"DIFFUSION Models"') == {"2601.00003", "2601.00004"}
    assert _ids(searcher, '"schrodinger bridge"') == {"2601.00005"}
    assert _ids(searcher, '"diffusion model"') == set()  # the papers say "models"


@pytest.mark.parametrize("mode", MODES)
def test_an_exclusion_leaves_out_the_word_as_written(searcher: Searcher, mode: SearchMode) -> None:
    # Semantic ranking admits every paper the exclusions leave, not only those saying "learning".
    without_video = _ids(searcher, "learning -video", mode)
    assert "2601.00006" in without_video  # it says "videos"
    assert not without_video & {"2601.00004", "2601.00007"}
    without_videos = _ids(searcher, "learning -videos", mode)
    assert "2601.00007" in without_videos and "2601.00006" not in without_videos
    assert "2601.00004" not in _ids(searcher, 'models -"video diffusion"', mode)


def test_every_hit_of_an_exclusion_lacks_the_word(searcher: Searcher) -> None:
    for hit in searcher.search("diffusion -diffuse", mode="hybrid", limit=20).hits:
        text = f"{hit.paper.title} {hit.paper.abstract}"
        assert not re.search(r"\bdiffuse\b", text, re.IGNORECASE), hit.paper_id
