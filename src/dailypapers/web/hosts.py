"""Which Host headers the site answers to (DAILYPAPERS_ALLOWED_HOSTS), Django-style.

Links in feeds, pages and mail are built from the address a request names; a forged Host would
put the forger's address there (and into the shared page cache), so a request naming a host
that is not listed is refused before it is routed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from dailypapers.config import Settings

# A Host header: a name or IPv4 address, or a bracketed IPv6 address; then an optional port.
_HOST_HEADER = re.compile(r"([a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\])(?::[0-9]+)?")
# Distinct Host values remembered with their verdict; forged ones could grow it without end.
MAX_REMEMBERED = 1024


def host_name(header: str) -> str | None:
    """The host name of a Host header without port or final dot, lowercase; None if malformed."""
    match = _HOST_HEADER.fullmatch(header.lower())
    if match is None:
        return None
    return match.group(1).removesuffix(".")


class AllowedHosts:
    """The configured host names: exact names, '.suffix' wildcards, and '*' for any."""

    def __init__(self, entries: Iterable[str]) -> None:
        names = {entry.lower().removesuffix(".") for entry in entries if entry}
        self.any = "*" in names
        self.exact = frozenset(name for name in names if not name.startswith((".", "*")))
        self.suffixes = tuple(sorted(name for name in names if name.startswith(".")))
        self._verdicts: dict[bytes, bool] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> AllowedHosts:
        """The allowed_hosts setting plus the host of public_url."""
        entries = settings.allowed_hosts.split(",")
        public = urlsplit(settings.public_url).hostname if settings.public_url else None
        if public:
            entries.append(f"[{public}]" if ":" in public else public)
        return cls(entries)

    def lists(self, header: str) -> bool:
        """Whether the host in `header` is named by an entry other than '*'."""
        name = host_name(header)
        if name is None:
            return False
        return name in self.exact or any(
            name == suffix[1:] or name.endswith(suffix) for suffix in self.suffixes
        )

    def allows(self, header: bytes) -> bool:
        """Whether a request with this Host header is answered (remembered per value: the
        list pages serve thousands of requests a second)."""
        verdict = self._verdicts.get(header)
        if verdict is None:
            text = header.decode("latin-1")
            verdict = self.lists(text) or (self.any and host_name(text) is not None)
            if len(self._verdicts) >= MAX_REMEMBERED:
                self._verdicts.clear()
            self._verdicts[header] = verdict
        return verdict
