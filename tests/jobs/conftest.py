"""Job tests use the web tests' seeded site (a copy per test)."""

from tests.web.conftest import seeded_home, site_home

__all__ = ["seeded_home", "site_home"]
