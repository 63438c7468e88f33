#!/usr/bin/env bash
# Set up everything the tests need on a fresh Debian machine, then run lint, types and tests.
# Usage: bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

# A real PostgreSQL server for the store tests (the tests start and stop their own cluster) and
# Debian's Chromium for the browser tests (Playwright's own browser download is not used), and
# wrk for the web benchmarks' smoke runs.
packages=()
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    packages+=(postgresql)
fi
if [ ! -x /usr/bin/chromium ]; then
    packages+=(chromium)
fi
# wrk drives the web benchmarks' smoke runs (tests/test_bench_web_smoke.py, ..._soak_smoke.py).
if ! command -v wrk >/dev/null 2>&1; then
    packages+=(wrk)
fi
if [ "${#packages[@]}" -gt 0 ]; then
    sudo=""
    if [ "$(id -u)" != "0" ]; then sudo=sudo; fi
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"

.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
.venv/bin/mypy

export DAILYPAPERS_REQUIRE_POSTGRES=1
export DAILYPAPERS_REQUIRE_BROWSER=1
set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests" >&2
    exit 1
fi
exit "$status"
