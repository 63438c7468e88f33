"""usearch's HNSW index class, imported on first use and always after onnxruntime.

onnxruntime must be loaded before usearch: loaded after it, its import crashes the process
(segmentation fault, onnxruntime 1.32.0 with usearch 2.26.6). Every use of usearch goes through
`hnsw_index`, which imports both in that order, so the guarantee holds in any process whatever
it loads first, and commands that never touch vectors (a keyword search, `papers show`,
`import`) load neither (about 50 ms warm, more from a cold disk).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from usearch.index import Index


@functools.cache
def hnsw_index() -> type[Index]:
    """The usearch `Index` class, onnxruntime loaded first."""
    import onnxruntime  # noqa: F401  (before usearch: see the module docstring)
    from usearch.index import Index

    return Index
