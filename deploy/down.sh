#!/usr/bin/env bash
# Stop everything deploy/up.sh started, by its pid files, newest part first: nginx, the
# refresher, the app instances, the replica, the primary. Idempotent: what is not
# running is skipped. `deploy/down.sh --clean` also deletes the run directory (the
# databases, credentials, certificate and logs), so the next up.sh starts afresh.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUN="${CASEBOARD_DEPLOY_DIR:-$ROOT/data/deploy}"
clean=0
case "${1:-}" in
  --clean) clean=1 ;;
  "") ;;
  *) echo "usage: deploy/down.sh [--clean]" >&2; exit 2 ;;
esac
say() { echo "deploy: $*"; }
[ -d "$RUN" ] || { say "nothing to stop ($RUN does not exist)"; exit 0; }
RUN="$(cd "$RUN" && pwd)"

stop() {  # stop NAME PIDFILE PATTERN: TERM, then KILL after 20 s; only the process we started
  local name=$1 file=$2 pattern=$3 pid
  [ -f "$file" ] || return 0
  pid="$(cat "$file")"
  if grep -qa -- "$pattern" "/proc/$pid/cmdline" 2>/dev/null; then
    say "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 80); do [ -d "/proc/$pid" ] || break; sleep 0.25; done
    if [ -d "/proc/$pid" ]; then
      say "$name did not stop in 20 s: killing it"
      kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 1 20); do [ -d "/proc/$pid" ] || break; sleep 0.25; done
    fi
  fi
  rm -f "$file"
}

stop nginx "$RUN/nginx/nginx.pid" nginx  # its master stops its workers
stop refresher "$RUN/refresher.pid" refresh
for file in "$RUN"/app*.pid; do
  [ -e "$file" ] || continue
  stop "app $(basename "$file" .pid | tr -d 'ap')" "$file" streamlit
done

PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
PGDIR="$(readlink -f "$RUN/pg" 2>/dev/null || echo "$RUN/pg")"  # up.sh may keep it outside $RUN
for cluster in replica primary; do
  dir="$PGDIR/$cluster"
  [ -f "$dir/postmaster.pid" ] || continue
  say "stopping the $cluster cluster"
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir" -m fast -w -t 60 stop >/dev/null || true
  else
    "$PG_BIN/pg_ctl" -D "$dir" -m fast -w -t 60 stop >/dev/null || true
  fi
done

if [ "$clean" -eq 1 ]; then
  say "removing $RUN"
  [ -L "$RUN/pg" ] && rm -rf "$(readlink -f "$RUN/pg")"  # the clusters up.sh kept outside it
  rm -rf "$RUN"
fi
say "stopped"
