#!/usr/bin/env bash
# Install Caseboard into .venv and start it. Without DASHBOARD_DB_URL it runs on the
# embedded demo database (data/demo.sqlite), generated on first start.
# Behind a reverse proxy (deploy/nginx.conf) set CASEBOARD_BEHIND_PROXY=1: the app then
# listens on 127.0.0.1 only, so the proxy, with its security headers and its closed
# /_stcore/metrics, is the only way in (README, "Deployment"). Unset, Streamlit listens
# on every interface, as it does by default.
set -euo pipefail
cd "$(dirname "$0")/.."
# The install is skipped while requirements.txt and pyproject.toml are as they were at the
# last install (their hash is kept in .venv), so a restart takes seconds, not a reinstall.
stamp=.venv/.caseboard-installed
wanted="$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ -x .venv/bin/streamlit ] && [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ]; then
  echo "caseboard: dependencies up to date (.venv)"
else
  echo "caseboard: creating .venv and installing the pinned dependencies (the first time takes about a minute)"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
  echo "$wanted" > "$stamp"
fi
# Streamlit runs each session in its own thread, and glibc gives threads their own
# malloc arenas that keep freed memory: two arenas cut the served app's memory
# (docs/performance.md, "Load"). tools/load.py starts its server the same way.
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
address=()
case "${CASEBOARD_BEHIND_PROXY:-0}" in
  1) address=(--server.address 127.0.0.1) ;;
  0) ;;
  *) echo "CASEBOARD_BEHIND_PROXY must be 1 or 0, got '${CASEBOARD_BEHIND_PROXY}'" >&2; exit 2 ;;
esac
echo "caseboard: starting on http://localhost:${STREAMLIT_SERVER_PORT:-8501} (the demo database is made on the first visit)"
exec .venv/bin/streamlit run dashboard/ui/app.py --server.headless true --browser.gatherUsageStats false \
  ${address[@]+"${address[@]}"} "$@"
