#!/usr/bin/env bash
# Install Caseboard into .venv and start it. Without DASHBOARD_DB_URL it runs on the
# embedded demo database (data/demo.sqlite), generated on first start.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
# Streamlit runs each session in its own thread, and glibc gives threads their own
# malloc arenas that keep freed memory: two arenas cut the served app's memory
# (README, Performance: "Memory"). dashboard.load starts its server the same way.
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
exec .venv/bin/streamlit run dashboard/app.py --server.headless true --browser.gatherUsageStats false "$@"
