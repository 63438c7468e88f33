"""The query encoder on ONNX Runtime: PyTorch's model, without torch, in 8-bit integers.

Loading torch and sentence-transformers takes seconds, most of a one-off command-line search
and of a web worker's first search. So queries run an ONNX file exported once from the
installed PyTorch model (mean pooling and L2 normalisation inside the graph) and cached under
`HOME/models/`; later processes load only onnxruntime and the model's own tokenizer. Papers are
still embedded by PyTorch (index build, the embed task): the exported vectors agree with it to
a cosine of at least `MIN_AGREEMENT`, which every export checks before it is kept.

By default (`DAILYPAPERS_QUERY_ENCODER_PRECISION=int8`) queries run a copy of that export
with its weights quantized to 8-bit integers (ONNX Runtime's dynamic quantization, one scale
per output channel). A query of a few word pieces reads every weight once, so the float32
model's 90 MB, not its arithmetic, set its speed; the int8 copy reads a quarter of that and
encodes a query in half the time. Its vectors agree with the float32 export's to a cosine of
at least `MIN_QUANTIZED_AGREEMENT` (checked on this machine when the copy is made: integer
arithmetic differs between processors), else queries run the float32 export.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dailypapers.config import QueryPrecision
from dailypapers.index.embeddings import (
    MAX_TOKENS,
    Embedder,
    load_embedder,
    model_folder,
)

logger = logging.getLogger(__name__)

# Bump when the exported graph changes, so that old cached files are not used.
EXPORT_FORMAT = 1
ONNX_OPSET = 17
EXPORT_TIMEOUT_S = 600
# Exported vectors must agree this closely with PyTorch's (cosine, each text) to be kept.
MIN_AGREEMENT = 0.9999
# The int8 copy's vectors must agree this closely with the float32 export's. Measured on our
# 110 arXiv queries and 300 SciFact queries (2026-12-07): cosine 0.987 at least, 0.994 mean.
MIN_QUANTIZED_AGREEMENT = 0.98
# The helper process's exit status for a file made but refused by its check.
_DISAGREES = 3
_CHECK_TEXTS = [
    "diffusion models",
    "How do I make language models cite their sources?",
    "Attention is all you need. The dominant sequence transduction models are based on complex "
    "recurrent or convolutional neural networks that include an encoder and a decoder.",
]


class ExportFailed(RuntimeError):
    """The model could not be exported to ONNX (torch missing, an unsupported model ...)."""


@dataclass(frozen=True, slots=True)
class EncoderSource:
    """A model folder that can run on ONNX Runtime, and the name its vectors go by."""

    name: str  # the embedder's name: vectors with the same name are comparable
    folder: Path
    max_tokens: int = MAX_TOKENS

    def cache_path(self, home: Path, precision: QueryPrecision = "float32") -> Path:
        """Where this model's exported file (or its int8 copy) lives: its name and a hash of
        what it is made of."""
        digest = hashlib.blake2b(digest_size=6)
        digest.update(f"format={EXPORT_FORMAT};opset={ONNX_OPSET}".encode())
        for path in sorted(self.folder.iterdir()):
            if path.suffix in (".safetensors", ".bin") or path.name == "config.json":
                stat = path.stat()
                digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
        stem = "".join(c if c.isalnum() or c in "-." else "-" for c in self.name.split("@")[0])
        suffix = "" if precision == "float32" else f"-{precision}"
        return home / "models" / f"{stem}-{digest.hexdigest()}{suffix}.onnx"


def encoder_source(model: str) -> EncoderSource | None:
    """The folder of the model `model` names (DAILYPAPERS_EMBEDDING_MODEL), if its vectors are
    plain mean-pooled transformer outputs that ONNX can reproduce; None otherwise (a hub name,
    CLS pooling, extra dense layers)."""
    folder = model_folder(model)
    if folder is None or not (folder / "tokenizer.json").exists():
        return None
    modules = json.loads((folder / "modules.json").read_text("utf-8"))
    kinds = [module["type"].rsplit(".", 1)[-1] for module in modules]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return None
    pooling = json.loads((folder / modules[1]["path"] / "config.json").read_text("utf-8"))
    modes = [key for key, value in pooling.items() if key.startswith("pooling_mode_") and value]
    if modes != ["pooling_mode_mean_tokens"]:
        return None
    return EncoderSource(load_embedder(model).name, folder)


class OnnxQueryEncoder:
    """Encodes texts with an exported model on ONNX Runtime (an `Embedder`)."""

    def __init__(self, source: EncoderSource, path: Path, *, threads: int = 1) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        self.name = source.name
        self.path = path
        options = onnxruntime.SessionOptions()
        # A query is a few word pieces: more threads cost more in hand-offs than they save.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {item.name for item in self._session.get_inputs()}
        self._tokenizer = Tokenizer.from_file(str(source.folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=source.max_tokens)
        pad = self._tokenizer.token_to_id("[PAD]") or 0
        self._tokenizer.enable_padding(pad_id=pad)  # to the longest text of a batch
        self.dimensions = int(self._session.get_outputs()[0].shape[-1])

    def encode(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        feeds = {
            "input_ids": np.array([e.ids for e in encodings], np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], np.int64),
        }
        outputs = self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})
        return np.asarray(outputs[0], np.float32)


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Held by one process at a time: web workers starting together export once."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def export_encoder(source: EncoderSource, home: Path) -> Path:
    """The model's ONNX file under `home`, exported now if it is not there yet (seconds, with
    torch). Raises ExportFailed if it cannot be made or does not agree with PyTorch."""
    path = source.cache_path(home)
    # In a process of its own: this one never loads torch, and the tracer starts clean
    # (inside a process that had already run the model, tracing was seen to spin).
    _make(path, ["export", str(source.folder), source.name], "export", source.name)
    return path


def quantize_encoder(source: EncoderSource, home: Path, exported: Path) -> Path:
    """The int8 copy of the model's ONNX file `exported` (`export_encoder`'s), made under
    `home` now if it is not there yet. Raises ExportFailed if it cannot be made or does not
    agree with the float32 export on this machine."""
    path = source.cache_path(home, "int8")
    # In a process of its own: the quantization tools import onnx, which serving never needs.
    _make(
        path, ["quantize", str(source.folder), source.name, str(exported)], "quantize", source.name
    )
    return path


def _make(path: Path, arguments: list[str], verb: str, name: str) -> None:
    """Run this module as a helper process that writes `path`, unless `path` exists. The file
    is written under a temporary name and renamed once it has passed its check; one process at
    a time makes it. A file refused by its check is refused again without trying (the same
    weights on the same machine give the same vectors): `<file>.refused` says why; delete it
    to try again."""
    refused = path.with_suffix(".refused")
    if path.exists():
        return
    if refused.exists():
        raise ExportFailed(refused.read_text("utf-8").strip())
    with _exclusive(path.with_suffix(".lock")):
        if path.exists():  # another process made it while this one waited
            return
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
        command = [sys.executable, "-m", __name__, *arguments, str(partial)]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=EXPORT_TIMEOUT_S, check=False
            )
            said = (done.stderr.strip().splitlines() or ["no output"])[-1]
            if done.returncode == 0:
                os.replace(partial, path)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise ExportFailed(f"cannot {verb} {name} to ONNX: {error}") from error
        finally:
            partial.unlink(missing_ok=True)
    if done.returncode == _DISAGREES:
        refused.write_text(f"cannot {verb} {name} to ONNX: {said}\n", "utf-8")
    if done.returncode != 0:
        raise ExportFailed(f"cannot {verb} {name} to ONNX: {said}")
    logger.info("made the query encoder %s (%s) at %s", name, verb, path)


def _export(source: EncoderSource, destination: Path) -> np.ndarray:
    """Write the ONNX graph of the model to `destination`; returns PyTorch's vectors of the
    check texts (from the same weights) to compare the export with."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the files are in `source.folder`
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import torch
    import transformers
    from transformers import AutoModel, AutoTokenizer

    transformers.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    transformers.logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    model = AutoModel.from_pretrained(source.folder, attn_implementation="eager").float().eval()
    pooled = _mean_pooled(model)
    tokenizer = AutoTokenizer.from_pretrained(source.folder)
    batch = tokenizer(
        _CHECK_TEXTS,
        padding=True,
        truncation=True,
        max_length=source.max_tokens,
        return_tensors="pt",
    )
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {name: {0: "batch", 1: "tokens"} for name in names}
    with torch.inference_mode():
        reference = pooled(*(batch[name] for name in names)).numpy()
    # The tracer warns about Python-side branches of the model; none depends on the input.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            pooled,
            tuple(batch[name] for name in names),
            str(destination),
            input_names=names,
            output_names=["embedding"],
            dynamic_axes={**axes, "embedding": {0: "batch"}},
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
    return np.asarray(reference, np.float32)


class Disagrees(ExportFailed):
    """A made file's vectors are too far from those they must reproduce."""


def _check_agreement(
    source: EncoderSource, path: Path, reference: np.ndarray, least: float, of: str
) -> None:
    encoder = OnnxQueryEncoder(source, path)
    agreement = np.sum(encoder.encode(_CHECK_TEXTS) * reference, axis=1)
    if float(agreement.min()) < least:
        raise Disagrees(f"its vectors differ from {of} (cosine {agreement.min():.6f} < {least})")


def load_query_encoder(
    model: str, *, home: Path, threads: int = 1, precision: QueryPrecision = "int8"
) -> Embedder:
    """The encoder for search queries: ONNX Runtime where the model allows it (exported under
    `home` on first use; its int8 copy unless `precision` is float32), else the PyTorch model,
    saying why in one log line."""
    source = encoder_source(model)
    if source is None:
        logger.info("search queries run on PyTorch: %s has no ONNX export", model)
        return load_embedder(model)
    try:
        exported = export_encoder(source, home)
        if precision == "int8":
            try:
                int8 = quantize_encoder(source, home, exported)
                return OnnxQueryEncoder(source, int8, threads=threads)
            except (ExportFailed, OSError, RuntimeError) as error:
                logger.warning("search queries run on the float32 export: %s", error)
        return OnnxQueryEncoder(source, exported, threads=threads)
    except (ExportFailed, ImportError, OSError, RuntimeError) as error:
        logger.warning("search queries run on PyTorch (slower to start): %s", error)
        return load_embedder(model)


def _mean_pooled(model: Any) -> Any:
    import torch

    class MeanPooled(torch.nn.Module):
        """The transformer's token vectors, mean-pooled over the mask and L2-normalised."""

        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            tokens = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            mean = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2.0, dim=1)

    return MeanPooled()


def _export_main(folder: str, name: str, destination: str) -> None:
    """Write the checked ONNX file of the model in `folder`."""
    source = EncoderSource(name, Path(folder))
    reference = _export(source, Path(destination))
    _check_agreement(source, Path(destination), reference, MIN_AGREEMENT, "PyTorch's")


def _quantize_main(folder: str, name: str, exported: str, destination: str) -> None:
    """Write the checked int8 copy of the ONNX file `exported`."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    source = EncoderSource(name, Path(folder))
    # The tools suggest a pre-processing pass (shape inference) before quantizing; on this
    # graph it changed neither the speed nor the vectors measurably, so it is not run.
    logging.getLogger().setLevel(logging.ERROR)
    quantize_dynamic(exported, destination, weight_type=QuantType.QInt8, per_channel=True)
    reference = OnnxQueryEncoder(source, Path(exported)).encode(_CHECK_TEXTS)
    _check_agreement(
        source, Path(destination), reference, MIN_QUANTIZED_AGREEMENT, "the float32 export's"
    )


def _helper_main(arguments: list[str]) -> None:
    """The helper process: make the file, or exit non-zero saying why (`_DISAGREES` when it
    was made but failed its check)."""
    verb, *rest = arguments
    try:
        if verb == "export":
            _export_main(*rest)
        else:
            _quantize_main(*rest)
    except Disagrees as error:
        sys.stderr.write(f"{error}\n")
        raise SystemExit(_DISAGREES) from error
    except Exception as error:
        raise SystemExit(f"{type(error).__name__}: {error}") from error


if __name__ == "__main__":
    _helper_main(sys.argv[1:])
