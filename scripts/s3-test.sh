#!/usr/bin/env bash
# A real S3 server for the crash-storage S3 tests: Ceph RADOS Gateway
# (Debian packages), one monitor + one memstore OSD + radosgw on 127.0.0.1,
# no cephx, everything under one state directory.
#
#   scripts/s3-test.sh start    # install if missing, start (or find running), print `export` lines
#   scripts/s3-test.sh stop     # stop every daemon it started, keep nothing running
#   scripts/s3-test.sh status   # exit 0 and print the exports if running and healthy
#   scripts/s3-test.sh test     # start, then run crash-storage's tests against it
#
# Usage:  eval "$(scripts/s3-test.sh start)"
# Only the `export` lines go to stdout; progress goes to stderr.
#
# Settings (environment):
#   SOCORRO_S3_TEST_DIR       state directory (default <repo>/target/s3-test)
#   SOCORRO_S3_TEST_TIMEOUT   seconds to wait for each daemon (default 90)
#
# Objects live in memory (memstore): `stop` loses them, which is what tests want.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state="${SOCORRO_S3_TEST_DIR:-$root/target/s3-test}"
wait_secs="${SOCORRO_S3_TEST_TIMEOUT:-90}"
conf="$state/ceph.conf"
env_file="$state/env"

# Fixed test credentials (a local throwaway server; not secrets).
access_key="SOCORROTESTACCESSKEY"
secret_key="socorro-test-secret-key-0123456789abcdef"
region="us-east-1"
uid="socorro-test"

log() { echo "s3-test: $*" >&2; }

starting=0

die() {
  log "$*"
  if [[ -d "$state/log" ]]; then
    for f in "$state"/log/*.log; do
      [[ -f "$f" ]] || continue
      log "---- last lines of $f"
      tail -n 25 "$f" >&2 || true
    done
  fi
  if ((starting)); then
    log "stopping what was started (logs stay in $state/log)"
    stop || true
  fi
  log "failed: $*"
  exit 1
}

have_ceph() {
  command -v ceph-mon >/dev/null && command -v ceph-osd >/dev/null &&
    command -v radosgw >/dev/null && command -v radosgw-admin >/dev/null &&
    command -v ceph >/dev/null && command -v monmaptool >/dev/null
}

install() {
  have_ceph && return 0
  local pkgs=(ceph-mon ceph-osd radosgw ceph-common)
  local start=$SECONDS
  log "installing ${pkgs[*]} (apt)"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q --no-install-recommends "${pkgs[@]}" >&2; then
    log "install failed; running apt-get update and retrying"
    apt-get update -q >&2
    apt-get install -y -q --no-install-recommends "${pkgs[@]}" >&2
  fi
  have_ceph || die "ceph binaries still missing after installing ${pkgs[*]}"
  log "installed in $((SECONDS - start)) s"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# HTTP GET succeeds (any status below 500); curl if present, else python3.
http_up() {
  local url=$1
  if command -v curl >/dev/null; then
    local code
    code=$(curl -s -o /dev/null -m 3 -w '%{http_code}' "$url" || true)
    [[ "$code" =~ ^[1-4][0-9][0-9]$ ]]
  else
    python3 - "$url" <<'EOF' >/dev/null 2>&1
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1], timeout=3)
except urllib.error.HTTPError as e:
    sys.exit(0 if e.code < 500 else 1)
EOF
  fi
}

ceph_cli() {
  timeout 30 ceph -c "$conf" --connect-timeout 10 "$@"
}

# wait_for <what> <command...>: retry for up to $wait_secs seconds.
wait_for() {
  local what=$1
  shift
  local deadline=$((SECONDS + wait_secs))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      die "timed out after ${wait_secs} s waiting for $what"
    fi
    sleep 0.5
  done
}

pid_alive() {
  local f=$1
  [[ -f "$f" ]] && kill -0 "$(cat "$f")" 2>/dev/null
}

print_exports() {
  cat "$env_file"
}

healthy() {
  [[ -f "$env_file" ]] || return 1
  local name
  for name in mon.a osd.0 client.rgw.test; do
    pid_alive "$state/run/$name.pid" || return 1
  done
  local endpoint
  endpoint=$(sed -n 's/^export SOCORRO_TEST_S3_ENDPOINT=//p' "$env_file")
  [[ -n "$endpoint" ]] && http_up "$endpoint/"
}

stop() {
  local f pid n name
  [[ -d "$state/run" ]] || return 0
  # radosgw first, the monitor last.
  for name in client.rgw.test osd.0 mon.a; do
    f="$state/run/$name.pid"
    [[ -f "$f" ]] || continue
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
      log "stopping $name (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      for ((n = 0; n < 50; n++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
      done
      if kill -0 "$pid" 2>/dev/null; then
        log "$name did not stop; killing it"
        kill -KILL "$pid" 2>/dev/null || true
      fi
    fi
    rm -f "$f"
  done
  rm -f "$env_file"
}

write_conf() {
  local fsid=$1 mon_port=$2 rgw_port=$3
  cat >"$conf" <<EOF
[global]
fsid = $fsid
mon host = [v1:127.0.0.1:$mon_port]
ms bind msgr2 = false
# No cephx: a throwaway single-user test cluster on the loopback interface.
auth cluster required = none
auth service required = none
auth client required = none
run dir = $state/run
pid file = $state/run/\$name.pid
admin socket = $state/run/\$name.asok
log file = $state/log/\$name.log
log to stderr = false
err to stderr = false
mon data = $state/mon/\$cluster-\$id
osd data = $state/osd/\$cluster-\$id
# One OSD: one replica, few placement groups.
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
# The monitor shuts itself down when its disk is below "crit" percent free
# (5 by default); a developer disk is often fuller than that.
mon data avail crit = 1
mon data avail warn = 2
# Objects in memory: fast, and nothing to clean on disk.
osd objectstore = memstore
memstore device bytes = 4294967296

[client.rgw.test]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port tcp_nodelay=1
# Reclaim space of deleted objects within a minute, not hours.
rgw gc obj min wait = 60
rgw gc processor period = 60
EOF
}

start() {
  if healthy; then
    log "already running ($state)"
    print_exports
    return 0
  fi
  install
  local t0=$SECONDS
  stop
  starting=1
  rm -rf "$state"
  mkdir -p "$state"/{run,log,mon,osd}
  local fsid mon_port rgw_port osd_uuid
  fsid=$(python3 -c 'import uuid; print(uuid.uuid4())')
  osd_uuid=$(python3 -c 'import uuid; print(uuid.uuid4())')
  mon_port=$(free_port)
  rgw_port=$(free_port)
  while [[ "$rgw_port" == "$mon_port" ]]; do rgw_port=$(free_port); done
  write_conf "$fsid" "$mon_port" "$rgw_port"
  # Ceph daemons started as root would switch to the `ceph` user; keep root
  # so they can use the state directory we created.
  local as_root=(--setuser root --setgroup root)

  log "starting monitor on 127.0.0.1:$mon_port"
  monmaptool --create --fsid "$fsid" --addv a "[v1:127.0.0.1:$mon_port]" "$state/monmap" >&2 ||
    die "monmaptool failed"
  ceph-mon -c "$conf" -i a --mkfs --monmap "$state/monmap" "${as_root[@]}" >&2 2>>"$state/log/mkfs.log" ||
    die "ceph-mon --mkfs failed"
  ceph-mon -c "$conf" -i a "${as_root[@]}" >&2 2>>"$state/log/daemons.log" || die "ceph-mon failed to start"
  wait_for "the monitor" ceph_cli mon stat

  log "starting memstore osd"
  local osd_id
  osd_id=$(ceph_cli osd new "$osd_uuid") || die "ceph osd new failed"
  [[ "$osd_id" == "0" ]] || die "expected osd id 0, got $osd_id"
  mkdir -p "$state/osd/ceph-0"
  ceph-osd -c "$conf" -i 0 --mkfs --osd-uuid "$osd_uuid" "${as_root[@]}" >&2 2>>"$state/log/mkfs.log" ||
    die "ceph-osd --mkfs failed"
  # Right after the monitor comes up, the OSD's first crush update is
  # sometimes refused ("wrong fsid": its monitor client has no monmap yet)
  # and ceph-osd exits; a second start goes through.
  local tries=1
  until ceph-osd -c "$conf" -i 0 "${as_root[@]}" >&2 2>>"$state/log/daemons.log"; do
    ((tries < 4)) || die "ceph-osd failed to start ($tries tries)"
    log "ceph-osd failed to start (try $tries); retrying"
    tries=$((tries + 1))
    sleep 2
  done
  osd_up() { ceph_cli osd dump 2>/dev/null | grep -q '^osd\.0 up'; }
  wait_for "osd.0 up" osd_up

  log "starting radosgw on 127.0.0.1:$rgw_port"
  radosgw -c "$conf" -n client.rgw.test "${as_root[@]}" >&2 2>>"$state/log/daemons.log" ||
    die "radosgw failed to start"
  local endpoint="http://127.0.0.1:$rgw_port"
  wait_for "radosgw at $endpoint" http_up "$endpoint/"

  log "creating user $uid"
  if ! timeout 60 radosgw-admin -c "$conf" user info --uid="$uid" >/dev/null 2>&1; then
    timeout 60 radosgw-admin -c "$conf" user create --uid="$uid" --display-name="Socorro tests" \
      --access-key="$access_key" --secret-key="$secret_key" >/dev/null 2>>"$state/log/admin.log" ||
      die "radosgw-admin user create failed"
  fi

  cat >"$env_file" <<EOF
export SOCORRO_TEST_S3_ENDPOINT=$endpoint
export SOCORRO_TEST_S3_ACCESS_KEY=$access_key
export SOCORRO_TEST_S3_SECRET_KEY=$secret_key
export SOCORRO_TEST_S3_REGION=$region
export SOCORRO_TEST_S3_STATE_DIR=$state
EOF
  starting=0
  log "ready in $((SECONDS - t0)) s: $endpoint (state in $state; stop with scripts/s3-test.sh stop)"
  print_exports
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status)
    if healthy; then print_exports; else
      log "not running"
      exit 1
    fi
    ;;
  test)
    eval "$(start)"
    cd "$root"
    cargo nextest run -p crash-storage
    ;;
  *)
    echo "usage: $0 start|stop|status|test" >&2
    exit 2
    ;;
esac
