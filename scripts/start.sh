#!/usr/bin/env bash
# The main job on SQLite: set up, import folders of dumps, harvest when online, build the search
# indexes, then serve the site on http://127.0.0.1:8000/ (DAILYPAPERS_PORT to change; Ctrl+C stops).
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
    today=$(date -u +%F)
    "$dp" harvest hf --date "$today" || echo "Hugging Face harvest failed; continuing" >&2
    "$dp" harvest arxiv --rss --categories cs.LG,cs.CL,cs.CV,cs.AI || echo "arXiv harvest failed; continuing" >&2
else
    echo "offline: skipping live harvest (imported dumps only)" >&2
fi

# Keyword index and embeddings (resumable; only what changed since the last run is embedded).
"$dp" index build
"$dp" papers list --limit 20
echo
echo "search: ${DAILYPAPERS_DEMO_QUERY:=video generation with diffusion models}" >&2
"$dp" search "$DAILYPAPERS_DEMO_QUERY" --limit 5

echo
port="${DAILYPAPERS_PORT:-8000}"
echo "open http://127.0.0.1:${port}/ (Ctrl+C stops the server)" >&2
exec "$dp" serve --host "${DAILYPAPERS_BIND:-127.0.0.1}" --port "$port"
