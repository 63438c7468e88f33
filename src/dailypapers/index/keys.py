"""Stable 63-bit integer keys for paper ids, shared by the keyword and the vector index."""

from __future__ import annotations

import hashlib

import numpy as np


def paper_key(paper_id: str) -> int:
    """A 63-bit key for a paper id; at 2.8 M papers the chance of any collision is 4e-7."""
    digest = hashlib.blake2b(paper_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def key_positions(keys: np.ndarray, sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which of `keys` are in `sorted_keys` (unique, ascending), and where (valid where in).

    A binary search per key: `np.isin` sorts both arrays on every call, 0.6 ms for 150
    candidates against 5,000 recently embedded papers."""
    positions = np.searchsorted(sorted_keys, keys)
    inside = positions < len(sorted_keys)
    found = np.zeros(len(keys), dtype=bool)
    found[inside] = sorted_keys[positions[inside]] == keys[inside]
    return found, positions
