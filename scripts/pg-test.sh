#!/usr/bin/env bash
# Make sure a PostgreSQL server for the db tests answers, and print the URL to export.
#
#   scripts/pg-test.sh          # start one if none answers; prints `export SOCORRO_TEST_POSTGRES_URL=...`
#   scripts/pg-test.sh stop     # stop and delete the throwaway cluster this script started
#
# The URL is $SOCORRO_TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres.
# If a server already answers on its port, nothing is started. Otherwise a throwaway
# cluster (trust auth, fsync off) is created in $PG_TEST_DIR (default /tmp/socorro-pg-<port>)
# and started on that port, installing Debian's `postgresql` package first if `initdb`
# is missing. initdb/pg_ctl refuse to run as root, so they run as user postgres.
# Usage in CI:  eval "$(scripts/pg-test.sh)"
set -euo pipefail

URL="${SOCORRO_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

# host and port from postgres://[user[:pw]@]host[:port][/db][?...]
authority="${URL#*://}"
authority="${authority%%/*}"
authority="${authority%%\?*}"
hostport="${authority##*@}"
HOST="${hostport%%:*}"
PORT=5432
if [[ "$hostport" == *:* ]]; then PORT="${hostport##*:}"; fi
HOST="${HOST:-127.0.0.1}"
DIR="${PG_TEST_DIR:-/tmp/socorro-pg-$PORT}"

log() { echo "pg-test: $*" >&2; }

as_postgres() {
  if [[ "$(id -u)" == 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_bin() {
  local found
  found="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [[ -n "$found" && -x "$found/initdb" ]]; then
    echo "$found"
  elif command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
  fi
}

answers() {
  local bin
  bin="$(pg_bin)"
  if [[ -n "$bin" && -x "$bin/pg_isready" ]]; then
    "$bin/pg_isready" -q -h "$HOST" -p "$PORT" -t 1
  else
    (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null
  fi
}

if [[ "${1:-}" == "stop" ]]; then
  bin="$(pg_bin)"
  if [[ -n "$bin" && -f "$DIR/PG_VERSION" ]]; then
    as_postgres "$bin/pg_ctl" -D "$DIR" -m fast -w stop >&2 || true
    rm -rf "$DIR"
    log "stopped and removed $DIR"
  else
    log "no throwaway cluster in $DIR"
  fi
  exit 0
fi

if answers; then
  log "a server answers on $HOST:$PORT; using it"
  echo "export SOCORRO_TEST_POSTGRES_URL=$URL"
  exit 0
fi

case "$HOST" in
  127.0.0.1 | localhost | ::1) ;;
  *) log "nothing answers on $HOST:$PORT and it is not local: cannot start a server there"; exit 1 ;;
esac

if [[ -z "$(pg_bin)" ]]; then
  log "installing the postgresql package"
  SUDO=""
  if [[ "$(id -u)" != 0 ]]; then SUDO="sudo"; fi
  # no default cluster: it would take port 5432 with password auth
  if [[ ! -e /etc/postgresql-common/createcluster.conf ]]; then
    $SUDO mkdir -p /etc/postgresql-common
    echo "create_main_cluster = false" | $SUDO tee /etc/postgresql-common/createcluster.conf >/dev/null
  fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql >&2 \
    || { $SUDO apt-get update >&2 && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql >&2; }
fi
BIN="$(pg_bin)"
[[ -n "$BIN" ]] || { log "initdb not found after installing postgresql"; exit 1; }

if [[ ! -f "$DIR/PG_VERSION" ]]; then
  rm -rf "$DIR"
  mkdir -p "$DIR"
  if [[ "$(id -u)" == 0 ]]; then chown postgres:postgres "$DIR"; fi
  as_postgres "$BIN/initdb" -A trust -U postgres --no-sync -D "$DIR" >&2
fi

as_postgres "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w -t 30 \
  -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >&2 || { log "start failed; log:"; tail -n 30 "$DIR/server.log" >&2 || true; exit 1; }

for _ in $(seq 1 100); do
  if answers; then
    log "throwaway cluster in $DIR listening on 127.0.0.1:$PORT (stop: scripts/pg-test.sh stop)"
    echo "export SOCORRO_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$PORT/postgres"
    exit 0
  fi
  sleep 0.1
done
log "server did not answer on 127.0.0.1:$PORT"
exit 1
