#!/usr/bin/env bash
# The README's promise, checked the way a newcomer meets it: a fresh clone in
# a temporary directory, then exactly the README's commands: `make run`, and
# the README's own `curl -F ... http://localhost:8800/submit` (read from
# README.md, run verbatim with a real dump saved as crash.dmp). Passes when
# the collector answers CrashID=bp-<id>, the crash is stored under ./data
# with Socorro's keys, and its report page on http://localhost:8000 shows it
# processed. (`make test`, the other README command, is what .ci/run runs.)
#
#   scripts/newcomer-test.sh
#
# The clone builds into this checkout's target/ (CARGO_TARGET_DIR) so CI does
# not compile everything twice; set PROFILE=dev to build without release
# optimisations (CI does, to stay within its time budget).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
testdata="$root/../shared/testdata"
log() { echo "newcomer-test: $*" >&2; }

for port in 8800 8000; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    log "port $port is taken: stop whatever listens there first"; exit 1
  fi
done

tmp=$(mktemp -d)
run_pid=""
cleanup() {
  if [ -n "$run_pid" ]; then
    kill -TERM -- "-$run_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$run_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$run_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

git clone -q "$root" "$tmp/socorro-rs"
cd "$tmp/socorro-rs"
grep -q '^make run' README.md || { log "README.md no longer says 'make run'"; exit 1; }

# The README's curl command, as written (continuation lines joined).
curl_cmd=$(awk '/^curl /{on=1} on{print; if ($0 !~ /\\$/) exit}' README.md | sed 's/#.*//')
case "$curl_cmd" in
  *"upload_file_minidump=@crash.dmp"*"http://localhost:8800/submit"*) ;;
  *) log "README.md's curl command changed: $curl_cmd"; exit 1 ;;
esac
cp "$testdata/rust-minidump/testdata/linux-mini.dmp" crash.dmp 2>/dev/null \
  || cp "$(find "$testdata" -name '*.dmp' | sort | head -n1)" crash.dmp

log "make run (building; the first build takes minutes)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
setsid make run > "$tmp/make-run.log" 2>&1 &
run_pid=$!
deadline=$((SECONDS + 1800))
until curl -fsS -o /dev/null http://localhost:8800/__lbheartbeat__ 2>/dev/null; do
  if ! kill -0 "$run_pid" 2>/dev/null; then
    log "make run exited:"; tail -n 40 "$tmp/make-run.log" >&2; exit 1
  fi
  if [ "$SECONDS" -gt "$deadline" ]; then log "collector never came up"; tail -n 40 "$tmp/make-run.log" >&2; exit 1; fi
  sleep 1
done
log "collector up after ${SECONDS}s; running the README's curl"

answer=$(bash -c "$curl_cmd")
echo "$answer"
id=$(printf '%s' "$answer" | sed -n 's/^CrashID=bp-\([0-9a-f-]\{36\}\)$/\1/p')
[ -n "$id" ] || { log "unexpected answer: $answer"; exit 1; }
day="20${id:30:6}"
for key in "v1/raw_crash/$day/$id" "v1/dump_names/$id" "v1/dump/$id"; do
  [ -f "data/crashes/$key" ] || { log "missing data/crashes/$key"; exit 1; }
done

deadline=$((SECONDS + 60))
until page=$(curl -fsS "http://localhost:8000/report/index/$id" 2>/dev/null) \
      && grep -q 'id="report-signature"' <<<"$page"; do
  if [ "$SECONDS" -gt "$deadline" ]; then log "crash $id never showed as processed"; tail -n 40 "$tmp/make-run.log" >&2; exit 1; fi
  sleep 0.5
done
signature=$(grep -o '<h1 class="signature" id="report-signature">[^<]*' <<<"$page" | sed 's/.*>//')
log "ok: crash $id stored under ./data, processed, signature \"$signature\" on http://localhost:8000/report/index/$id"
