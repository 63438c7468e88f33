#!/usr/bin/env bash
# The main job on SQLite: set up, import folders of dumps, then serve the site on
# http://127.0.0.1:8000/ (DAILYPAPERS_PORT to change; Ctrl+C stops) with its jobs on: they
# embed the papers for semantic search and, when the machine is online, harvest today's Hugging
# Face and arXiv papers and backfill the last 30 days (see docs/operations.md).
# Usage: bash scripts/start.sh [FILE_OR_FOLDER...]   (default: ../shared/seeds when present)
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e .
dp=.venv/bin/dailypapers

inputs=("$@")
if [ "${#inputs[@]}" -eq 0 ] && [ -d ../shared/seeds ]; then
    inputs=(../shared/seeds)
fi
if [ "${#inputs[@]}" -gt 0 ]; then
    # Exit code 1 means some records were refused (they are listed); the rest are stored.
    "$dp" import "${inputs[@]}" || [ $? -eq 1 ]
fi

if .venv/bin/python -c "import httpx; httpx.head('https://export.arxiv.org', timeout=5)" 2>/dev/null; then
    echo "online: the site harvests Hugging Face and arXiv by itself once it is up" >&2
else
    echo "offline: serving the imported papers (harvests retry on their schedules)" >&2
    # Nothing to fetch: keep the job log quiet instead of one failed harvest per period.
    export DAILYPAPERS_HARVEST_HF="${DAILYPAPERS_HARVEST_HF:-false}"
    export DAILYPAPERS_HARVEST_ARXIV="${DAILYPAPERS_HARVEST_ARXIV:-false}"
fi

"$dp" papers list --limit 20
echo
echo "search: ${DAILYPAPERS_DEMO_QUERY:=video generation with diffusion models}" >&2
"$dp" search "$DAILYPAPERS_DEMO_QUERY" --mode keyword --limit 5

echo
port="${DAILYPAPERS_PORT:-8000}"
echo "open http://127.0.0.1:${port}/ (Ctrl+C stops the server); papers become semantically" >&2
echo "searchable as the job process embeds them: dailypapers jobs status shows how far it is" >&2
exec "$dp" serve --host "${DAILYPAPERS_BIND:-127.0.0.1}" --port "$port"
