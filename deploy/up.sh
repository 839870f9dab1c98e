#!/usr/bin/env bash
# A local deployment of the real parts (docs/deployment.md): a PostgreSQL primary with
# the platform data and the state database, a streaming hot-standby replica that the
# apps read the platform from, two app instances in production mode, nginx in front of
# them over TLS with route-cookie affinity, and the refresher as its own process.
# Everything lives in one run directory ($CASEBOARD_DEPLOY_DIR, default data/deploy)
# on high ports; the system's nginx and its PostgreSQL clusters are not touched.
# Idempotent: a second run starts only what is not running and prints the URL again.
# deploy/down.sh stops everything it started.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUN="${CASEBOARD_DEPLOY_DIR:-$ROOT/data/deploy}"
mkdir -p "$RUN"
RUN="$(cd "$RUN" && pwd)"
say() { echo "deploy: $*"; }
fail() { echo "deploy: $*" >&2; exit 1; }

# ---------------------------------------------------------------- settings, kept for down.sh and re-runs
if [ ! -f "$RUN/deploy.env" ]; then
  base="${CASEBOARD_DEPLOY_PORT_BASE:-25400}"
  py="${CASEBOARD_PYTHON:-}"
  [ -n "$py" ] || { [ -x "$ROOT/.venv/bin/python" ] && py="$ROOT/.venv/bin/python"; } || py="$(command -v python3)"
  cat > "$RUN/deploy.env" <<EOF
PY=$py
PRIMARY_PORT=$((base + 32))
REPLICA_PORT=$((base + 33))
HTTPS_PORT=$((base + 43))
APP_PORTS="$((base + 101)) $((base + 102))"
EOF
fi
# shellcheck disable=SC1091
. "$RUN/deploy.env"
PY="${CASEBOARD_PYTHON:-$PY}"

# ---------------------------------------------------------------- the packages it uses
packages=()
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
[ -n "$PG_BIN" ] && [ -x "$PG_BIN/pg_basebackup" ] || packages+=(postgresql)
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
[ -x "$NGINX" ] || packages+=(nginx)
command -v openssl >/dev/null 2>&1 || packages+=(openssl)
command -v curl >/dev/null 2>&1 || packages+=(curl)
if [ "${#packages[@]}" -gt 0 ]; then
  say "installing ${packages[*]}"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo -n"
  $sudo_cmd apt-get update -qq && $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
  PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
fi

# PostgreSQL refuses to run as root: as root the clusters belong to the postgres user.
PGDIR="$RUN/pg"
if [ "$(id -u)" -eq 0 ]; then
  as_pg() { runuser -u postgres -- "$@"; }
  [ -e "$PGDIR" ] || { mkdir -p "$PGDIR" && chown postgres: "$PGDIR"; }
  if ! as_pg test -w "$PGDIR/."; then
    # The run directory is where the postgres user cannot reach (under /root, say): the
    # clusters live in /var/tmp instead, linked from the run directory (down.sh follows it).
    rmdir "$PGDIR" 2>/dev/null || true
    outside="/var/tmp/caseboard-deploy-$(echo "$RUN" | sha256sum | cut -c1-12)"
    mkdir -p "$outside" && chown postgres: "$outside" && chmod 700 "$outside"
    ln -sfn "$outside" "$PGDIR"
  fi
else
  as_pg() { "$@"; }
  mkdir -p "$PGDIR"
fi
PGDIR="$(readlink -f "$PGDIR")"
PG_ADMIN="postgresql://postgres@127.0.0.1:$PRIMARY_PORT"
psql_primary() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$PG_ADMIN/$1" -c "$2"; }
app_url() { echo "postgresql+psycopg://caseboard_app@127.0.0.1:$1/$2"; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for() {  # wait_for SECONDS WHAT COMMAND...: poll until COMMAND succeeds
  local seconds=$1 what=$2; shift 2
  for _ in $(seq 1 $((seconds * 4))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.25; done
  fail "$what did not become ready within ${seconds}s (logs in $RUN)"
}
running() {  # running PIDFILE PATTERN: the pid in the file is alive and is what we started
  [ -f "$1" ] && grep -qa -- "$2" "/proc/$(cat "$1")/cmdline" 2>/dev/null
}

# ---------------------------------------------------------------- the primary
start_cluster() {  # start_cluster NAME PORT
  if as_pg "$PG_BIN/pg_ctl" -D "$PGDIR/$1" status >/dev/null 2>&1; then return 0; fi
  port_free "$2" || fail "port $2 for the $1 cluster is in use (set CASEBOARD_DEPLOY_PORT_BASE)"
  as_pg "$PG_BIN/pg_ctl" -D "$PGDIR/$1" -l "$PGDIR/$1.log" -w -t 60 start >/dev/null
}
if [ ! -f "$PGDIR/primary/PG_VERSION" ]; then
  say "creating the primary cluster (port $PRIMARY_PORT)"
  as_pg "$PG_BIN/initdb" -D "$PGDIR/primary" -U postgres -A trust --no-instructions >/dev/null
  # TCP on loopback only, no Unix socket beside the system cluster's; initdb's pg_hba.conf
  # already trusts loopback, replication included (a local deployment: a service uses scram).
  cat >> "$PGDIR/primary/postgresql.conf" <<EOF
port = $PRIMARY_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
wal_level = replica
max_wal_senders = 5
hot_standby = on
EOF
fi
start_cluster primary "$PRIMARY_PORT"
wait_for 60 "the primary" "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PRIMARY_PORT"

if [ ! -f "$RUN/platform.loaded" ]; then
  say "loading the demo platform into the primary"
  for role in caseboard_app caseboard_migrator; do
    psql_primary postgres "DO \$\$ BEGIN CREATE ROLE $role LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END \$\$"
  done
  psql_primary postgres "DROP DATABASE IF EXISTS platform" && psql_primary postgres "CREATE DATABASE platform"
  psql_primary postgres "DROP DATABASE IF EXISTS caseboard"
  psql_primary postgres "CREATE DATABASE caseboard OWNER caseboard_migrator"  # the state database
  (cd "$ROOT" && "$PY" -m dashboard demo --db "postgresql+psycopg://postgres@127.0.0.1:$PRIMARY_PORT/platform" \
    --patients "${CASEBOARD_DEPLOY_PATIENTS:-480}" --no-history >/dev/null)
  # Production refuses the demo's published login names: the deployment's clinicians log
  # in as deploy.<name>, with a password generated below.
  psql_primary platform "UPDATE clinicians SET username = 'deploy.' || username"
  # What `caseboard roles` prints for the platform's owner: read the platform, nothing else.
  (cd "$ROOT" && "$PY" -m dashboard roles --app caseboard_app --database platform) \
    | sed '/^-- as the migrator/,$d' | "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$PG_ADMIN/platform" >/dev/null
  touch "$RUN/platform.loaded"
fi

# The migrator owns the dash_ tables: it migrates them, then grants the app its share.
STATE_MIGRATOR="postgresql+psycopg://caseboard_migrator@127.0.0.1:$PRIMARY_PORT/caseboard"
(cd "$ROOT" && "$PY" -m dashboard db upgrade --db "$STATE_MIGRATOR" >/dev/null)
(cd "$ROOT" && "$PY" -m dashboard roles --app caseboard_app --database platform) \
  | sed -n '/^-- as the migrator/,$p' \
  | "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "postgresql://caseboard_migrator@127.0.0.1:$PRIMARY_PORT/caseboard" >/dev/null

# ---------------------------------------------------------------- the replica
if [ ! -f "$PGDIR/replica/PG_VERSION" ]; then
  say "making the streaming replica (port $REPLICA_PORT) with pg_basebackup"
  as_pg "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -D "$PGDIR/replica" -R -X stream -c fast
  echo "port = $REPLICA_PORT" >> "$PGDIR/replica/postgresql.conf"
fi
start_cluster replica "$REPLICA_PORT"
wait_for 60 "the replica" "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$REPLICA_PORT"
streaming() {
  [ "$("$PG_BIN/psql" -X -tA "$PG_ADMIN/postgres" -c "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")" -ge 1 ]
}
wait_for 60 "streaming replication" streaming

# ---------------------------------------------------------------- credentials and the app's environment
if [ ! -f "$RUN/app.env" ]; then
  say "generating the credentials file, its cookie key and a password"
  (umask 077 && cd "$ROOT" && "$PY" - "$RUN" <<'EOF'
import secrets
import sys
from pathlib import Path

import bcrypt
import yaml

run = Path(sys.argv[1])
password = secrets.token_urlsafe(12)
names = ["gp1", "gp2", "therapist1", "therapist2", "lead1", "lead2"]
hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()
users = {
    f"deploy.{name}": {"first_name": name, "last_name": "Deploy", "password": hashed}
    for name in names
}
doc = {"credentials": {"usernames": users}, "cookie": {"name": "caseboard_auth", "key": secrets.token_hex(32), "expiry_days": 0.5}}
(run / "users.yaml").write_text(yaml.safe_dump(doc))
(run / "password").write_text(password + "\n")
(run / "cookie_secret").write_text(secrets.token_hex(32) + "\n")
EOF
  )
  cat > "$RUN/app.env" <<EOF
DASHBOARD_MODE=production
DASHBOARD_DB_URL=$(app_url "$REPLICA_PORT" platform)
DASHBOARD_STATE_DB_URL=$(app_url "$PRIMARY_PORT" caseboard)
DASHBOARD_AUTH_FILE=$RUN/users.yaml
DASHBOARD_TIMEZONE=Europe/Stockholm
MALLOC_ARENA_MAX=2
EOF
  chmod 600 "$RUN/app.env"
fi
set -a
# shellcheck disable=SC1091
. "$RUN/app.env"
STREAMLIT_SERVER_COOKIE_SECRET="$(cat "$RUN/cookie_secret")"  # the same on every instance
set +a
ready="$(cd "$ROOT" && "$PY" -m dashboard ready)" || fail "caseboard ready says: $ready"

# ---------------------------------------------------------------- two app instances
i=0
for port in $APP_PORTS; do
  i=$((i + 1))
  if ! running "$RUN/app$i.pid" "streamlit"; then
    port_free "$port" || fail "port $port for app $i is in use"
    say "starting app $i on 127.0.0.1:$port"
    # As scripts/start.sh serves it with CASEBOARD_BEHIND_PROXY=1 (loopback only), from this
    # checkout's Python rather than a fresh .venv.
    (cd "$ROOT" && exec setsid "$PY" -m streamlit run dashboard/ui/app.py --server.headless true \
      --browser.gatherUsageStats false --server.address 127.0.0.1 --server.port "$port" \
      --global.developmentMode false --server.fileWatcherType none >"$RUN/app$i.log" 2>&1 </dev/null) &
    echo $! > "$RUN/app$i.pid"
  fi
done

# ---------------------------------------------------------------- the refresher
if ! running "$RUN/refresher.pid" "refresh"; then
  say "starting the refresher (every 30 s, replica -> state database)"
  (cd "$ROOT" && exec setsid "$PY" -m dashboard refresh --every 30 --db "$DASHBOARD_DB_URL" \
    --state-db "$DASHBOARD_STATE_DB_URL?application_name=caseboard_refresher" >>"$RUN/refresher.log" 2>&1 </dev/null) &
  echo $! > "$RUN/refresher.pid"
fi

# ---------------------------------------------------------------- nginx, from deploy/nginx.conf
NGX="$RUN/nginx"
mkdir -p "$NGX/logs" "$NGX/temp" "$RUN/tls"
if [ ! -f "$RUN/tls/cert.pem" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$RUN/tls/key.pem" -out "$RUN/tls/cert.pem" \
    -days 30 -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
  chmod 600 "$RUN/tls/key.pem"
fi
set -- $APP_PORTS
"$PY" - "$ROOT/deploy/nginx.conf" "$NGX/caseboard.conf" <<EOF
import sys
text = open(sys.argv[1]).read()
for old, new in {
    "listen 443 ssl;": "listen 127.0.0.1:$HTTPS_PORT ssl;",
    "server 127.0.0.1:8501 ": "server 127.0.0.1:$1 ",
    "server 127.0.0.1:8502 ": "server 127.0.0.1:$2 ",
    "/etc/ssl/certs/caseboard.pem": "$RUN/tls/cert.pem",
    "/etc/ssl/private/caseboard.key": "$RUN/tls/key.pem",
    "/var/log/nginx/": "$NGX/logs/",
}.items():
    if old not in text:
        sys.exit(f"deploy/nginx.conf no longer contains {old!r}: deploy/up.sh cannot adapt it")
    text = text.replace(old, new)
open(sys.argv[2], "w").write(text)
EOF
{
  [ "$(id -u)" -eq 0 ] && echo "user root;"
  echo "worker_processes 1;"
  echo "pid $NGX/nginx.pid;"
  echo "error_log $NGX/logs/error.log;"
  echo "events { worker_connections 512; }"
  echo "http {"
  for kind in client_body proxy fastcgi uwsgi scgi; do echo "  ${kind}_temp_path $NGX/temp/$kind;"; done
  echo "  include $NGX/caseboard.conf;"
  echo "}"
} > "$NGX/nginx.conf"
nginx_cmd() { "$NGINX" -p "$NGX" -e "$NGX/logs/error.log" -c "$NGX/nginx.conf" "$@"; }
nginx_cmd -t -q || fail "nginx refused $NGX/nginx.conf"
if running "$NGX/nginx.pid" "nginx"; then
  nginx_cmd -s reload
else
  port_free "$HTTPS_PORT" || fail "port $HTTPS_PORT for nginx is in use"
  say "starting nginx on https://127.0.0.1:$HTTPS_PORT"
  nginx_cmd
fi

# ---------------------------------------------------------------- ready?
i=0
for port in $APP_PORTS; do
  i=$((i + 1))
  wait_for 120 "app $i" curl -fsS "http://127.0.0.1:$port/_stcore/health"
done
wait_for 30 "nginx" curl -fsSk "https://127.0.0.1:$HTTPS_PORT/_stcore/health"
# The first run reads every response and builds every team's snapshot: seconds on the
# demo, 20 minutes and more at 100,000 patients on a busy 2-core machine. The pages
# compute live meanwhile, so past CASEBOARD_DEPLOY_REFRESH_WAIT seconds it is left running.
refresh_wait="${CASEBOARD_DEPLOY_REFRESH_WAIT:-900}"
for _ in $(seq 1 $((refresh_wait * 4))); do
  grep -qE "refresh:|holds the lease" "$RUN/refresher.log" && break
  running "$RUN/refresher.pid" "refresh" || fail "the refresher stopped before its first run (see $RUN/refresher.log)"
  sleep 0.25
done
grep -qE "refresh:|holds the lease" "$RUN/refresher.log" \
  || say "the refresher's first run is still going after ${refresh_wait}s (the pages compute live meanwhile; see $RUN/refresher.log)"
say "ready: https://127.0.0.1:$HTTPS_PORT (self-signed certificate; users deploy.therapist1, deploy.gp1, deploy.lead1, ...; password in $RUN/password)"
echo "https://127.0.0.1:$HTTPS_PORT"
