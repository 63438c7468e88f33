"""Stable 63-bit integer keys for paper ids, shared by the keyword and the vector index."""

from __future__ import annotations

import hashlib


def paper_key(paper_id: str) -> int:
    """A 63-bit key for a paper id; at 2.8 M papers the chance of any collision is 4e-7."""
    digest = hashlib.blake2b(paper_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1
