#!/usr/bin/env bash
# Install Caseboard into .venv and start it. Without DASHBOARD_DB_URL it runs on the
# embedded demo database (data/demo.sqlite), generated on first start.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
exec .venv/bin/streamlit run dashboard/app.py --server.headless true --browser.gatherUsageStats false "$@"
