"""Where the derived search indexes live, and how they are swapped in atomically.

HOME/index/ holds versioned directories (`keyword-3/`, `vectors-2/`) and CURRENT.json, which
names the live one of each kind. A rebuild writes a fresh directory and then replaces
CURRENT.json in one rename, so a crash leaves either the old index or the new one, never half
of either. Incremental updates inside a live directory are atomic per step (a tantivy commit,
one vector chunk file, one state file), so a crash loses at most the step in progress.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson

IndexKind = Literal["keyword", "vectors"]
LAYOUT_VERSION = 1
# The file each kind of index replaces (by a rename: a new inode every time) at each commit.
COMMIT_FILES: dict[IndexKind, str] = {"keyword": "meta.json", "vectors": "state.json"}
# A file's inode, modification time and size; None when there is no such file.
FileStamp = tuple[int, int, int] | None


def file_stamp(path: Path) -> FileStamp:
    """What changes whenever `path` is replaced or written (one stat call)."""
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    return (found.st_ino, found.st_mtime_ns, found.st_size)


def write_json_atomic(path: Path, value: Any) -> None:
    """Write JSON to `path` so a reader sees the old file or the new one, never a torn one."""
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("wb") as handle:
        handle.write(orjson.dumps(value, option=orjson.OPT_INDENT_2))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync_directory(path.parent)


def read_json(path: Path) -> Any:
    """The JSON in `path`, or None if there is no such file."""
    try:
        return orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return None


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@dataclass(frozen=True, slots=True)
class IndexLayout:
    """The index root directory and the live version of each index kind."""

    root: Path

    @classmethod
    def under(cls, home: Path) -> IndexLayout:
        root = home / "index"
        root.mkdir(parents=True, exist_ok=True)
        return cls(root)

    @property
    def current_file(self) -> Path:
        return self.root / "CURRENT.json"

    def live(self, kind: IndexKind) -> Path | None:
        """The live directory of `kind`, or None before the first build."""
        current = read_json(self.current_file) or {}
        name = current.get(kind)
        return self.root / name if name else None

    def building(self, kind: IndexKind) -> Path | None:
        """The directory of `kind` being rebuilt (not yet live), if a rebuild is under way."""
        current = read_json(self.current_file) or {}
        name = current.get(f"{kind}_building")
        return self.root / name if name and (self.root / name).is_dir() else None

    def mark_building(self, kind: IndexKind, directory: Path) -> None:
        """Record a rebuild in progress so that a restart resumes it instead of starting over."""
        current = read_json(self.current_file) or {}
        current.update({f"{kind}_building": directory.name, "layout_version": LAYOUT_VERSION})
        write_json_atomic(self.current_file, current)

    def new_version(self, kind: IndexKind) -> Path:
        """A fresh, empty directory for a rebuild of `kind` (not live until `publish`)."""
        numbers = [
            int(path.name.split("-", 1)[1])
            for path in self.root.glob(f"{kind}-*")
            if path.name.split("-", 1)[1].isdigit()
        ]
        path = self.root / f"{kind}-{max(numbers, default=0) + 1}"
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir()
        return path

    def publish(self, kind: IndexKind, directory: Path) -> None:
        """Make `directory` the live index of `kind` and remove the versions it replaces."""
        current = read_json(self.current_file) or {}
        current.update({kind: directory.name, "layout_version": LAYOUT_VERSION})
        current.pop(f"{kind}_building", None)
        write_json_atomic(self.current_file, current)
        self.remove_stale(kind)

    def remove_stale(self, kind: IndexKind) -> None:
        """Delete directories of `kind` that are neither live nor being rebuilt."""
        keep = {self.live(kind), self.building(kind)}
        for path in self.root.glob(f"{kind}-*"):
            if path.is_dir() and path not in keep:
                shutil.rmtree(path, ignore_errors=True)

    @contextmanager
    def writer_lock(self, *, wait: bool = True) -> Iterator[bool]:
        """Hold the single-writer lock; yields False at once if `wait` is off and it is taken."""
        with (self.root / ".writer.lock").open("a") as handle:
            flags = fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB
            try:
                fcntl.flock(handle.fileno(), flags)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class IndexWatch:
    """Tells, with a few stat calls and no lock, whether a live index has changed.

    CURRENT.json names the live directories (read again only when it is replaced), and every
    commit replaces the live directory's commit file (COMMIT_FILES). A reader that takes the
    stamp *before* opening or reloading an index holds at least what the stamp describes; a
    later stamp that differs means there may be more to see.
    """

    def __init__(self, layout: IndexLayout) -> None:
        self.layout = layout
        self._seen: tuple[FileStamp, dict[IndexKind, Path | None]] | None = None

    def _live(self) -> tuple[FileStamp, dict[IndexKind, Path | None]]:
        """CURRENT.json's stamp and the live directories it names."""
        current = file_stamp(self.layout.current_file)
        seen = self._seen
        if seen is None or seen[0] != current:  # stat first: what is read is at least as new
            seen = (current, {kind: self.layout.live(kind) for kind in COMMIT_FILES})
            self._seen = seen  # one assignment: other threads see the old pair or the new
        return seen

    def live(self, kind: IndexKind) -> Path | None:
        """The live directory of `kind` (None before the first build)."""
        return self._live()[1][kind]

    def stamp(self, *kinds: IndexKind) -> tuple[object, ...]:
        """What changes whenever one of `kinds` (all when none are named) changes: a new live
        directory or a commit in it."""
        current, live = self._live()
        stamps: list[object] = [current]
        for kind in kinds or tuple(COMMIT_FILES):
            directory = live[kind]
            commit = file_stamp(directory / COMMIT_FILES[kind]) if directory else None
            stamps.append((directory, commit))
        return tuple(stamps)
