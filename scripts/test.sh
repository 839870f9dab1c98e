#!/usr/bin/env bash
# Install Caseboard and its test tools into .venv, then run the whole test suite.
# Browser tests need Debian's chromium, the proxy tests nginx: installed here when missing (root or sudo -n).
# The accessibility scan needs Node.js/npm for axe-core (tests/axe, pinned by its lock file).
# PostgreSQL tests use CASEBOARD_TEST_PG_URL (default postgres@127.0.0.1:5432/test).
# Locally a missing PostgreSQL or Chromium skips those tests with the reason;
# with CI=true they fail instead.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
# tests/test_deploy.py runs deploy/nginx.conf in nginx (with an openssl test certificate);
# tests/test_deployment.py runs deploy/up.sh, which also needs PostgreSQL's server tools
# (initdb, pg_basebackup) and curl (up.sh installs them too when run by hand).
packages=()
command -v chromium >/dev/null 2>&1 || packages+=(chromium)
{ command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; } || packages+=(nginx)
command -v openssl >/dev/null 2>&1 || packages+=(openssl)
command -v curl >/dev/null 2>&1 || packages+=(curl)
ls /usr/lib/postgresql/*/bin/pg_basebackup >/dev/null 2>&1 || packages+=(postgresql)
if [ "${#packages[@]}" -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo -n"
  { $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq "${packages[@]}" >/dev/null; } \
    || echo "warning: could not install ${packages[*]}; their tests will be skipped (or fail under CI=true)" >&2
fi
# axe-core for the accessibility scan, at the exact version of tests/axe/package-lock.json
if command -v npm >/dev/null 2>&1; then
  npm ci --prefix tests/axe --no-audit --no-fund --silent \
    || echo "warning: npm ci failed; the accessibility scan will be skipped (or fail under CI=true)" >&2
else
  echo "warning: npm not found; the accessibility scan will be skipped (or fail under CI=true)" >&2
fi
.venv/bin/ruff format --check dashboard pages tests tools  # one format (pyproject [tool.ruff])
.venv/bin/ruff check dashboard pages tests tools  # E, W, F, I, B, UP (pyproject [tool.ruff.lint])
bash scripts/audit.sh  # known vulnerabilities in the pinned requirements fail; no answer is reported, not hidden
# Both cores: one worker per CPU, each test file whole on one worker (its module-scoped
# demo databases are built once, and the deployment's fixed ports are used by one file).
exec .venv/bin/python -m pytest --numprocesses auto --dist loadfile "$@"
