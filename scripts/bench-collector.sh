#!/usr/bin/env bash
# Collector throughput benchmark (make bench-collector).
#
# Posts Breakpad-style multipart bodies with a 300 KB dump at concurrency 32
# for 20 s with wrk, checks that every crash answered 200 is stored and
# queued, and prints crashes/s and p50/p99 latency next to the disk's own
# ceiling (concurrent fsync'd 300 KB file writes/s) measured in the same run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
DURATION=${DURATION:-20}
CONNECTIONS=${CONNECTIONS:-32}

if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk (Debian package)" >&2
  (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null
fi

cargo build --release -q -p socorro --bin socorro
cargo build --release -q -p collector --example fsync_ceiling --example hash_rate
bin="$root/target/release"

# ext4 without a journal (as on these machines) skips inodes freed in the last
# 1-6 minutes on every create, which would tax this run for the previous
# run's cleanup (each crash creates 3 files). Wait that window out.
marker="$root/target/.bench-collector-cleanup"
if [ -f "$marker" ]; then
  age=$(( $(date +%s) - $(cat "$marker") ))
  if [ "$age" -lt 360 ]; then
    echo "waiting $((360 - age)) s: the previous run deleted its files $age s ago" >&2
    sleep $((360 - age))
  fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-collector.XXXXXX")
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$work"
  date +%s > "$marker"
}
trap cleanup EXIT

# The body: annotations + a 300 KB dump, exactly as a Breakpad client sends it.
boundary="------------------------benchbenchbench0"
python3 - "$work/body" "$boundary" <<'PY'
import os, sys
path, b = sys.argv[1], sys.argv[2]
dump = os.urandom(300_000)
parts = []
for k, v in [("ProductName", "BenchApp"), ("Version", "1.0"), ("ReleaseChannel", "release")]:
    parts.append(f'--{b}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
parts.append(f'--{b}\r\nContent-Disposition: form-data; name="upload_file_minidump"; filename="c.dmp"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode() + dump + b"\r\n")
parts.append(f"--{b}--\r\n".encode())
open(path, "wb").write(b"".join(parts))
PY

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SOCORRO_DATA_DIR="$work/data" SOCORRO_COLLECTOR__LISTEN="127.0.0.1:$port" RUST_LOG=warn \
  "$bin/socorro" run --only collector &
pid=$!
for _ in $(seq 1 200); do
  curl -fsS "http://127.0.0.1:$port/__lbheartbeat__" >/dev/null 2>&1 && break
  sleep 0.05
done

echo "== collector: wrk -t2 -c${CONNECTIONS} -d${DURATION}s"
BODY_FILE="$work/body" BOUNDARY="$boundary" IDS_FILE="$work/ids" \
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s --latency -s scripts/bench/submit.lua \
  "http://127.0.0.1:$port/submit" | tee "$work/wrk.out"
# CPU the collector used (utime + stime, clock ticks), to say where the time goes.
ticks=$(getconf CLK_TCK)
cpu_s=$(awk -v t="$ticks" '{print ($14 + $15) / t}' "/proc/$pid/stat")
# The collector's own view of the same requests (its /metrics histograms):
# time inside the handler, and the save and publish stages within it.
curl -fsS "http://127.0.0.1:$port/metrics" > "$work/metrics.txt" || : > "$work/metrics.txt"
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""

# The ceiling runs after the collector (files kept until the end, so no run
# pays for the other's deleted inodes): 32 writers each making 300 KB files
# durable on their own (temporary file, fdatasync, rename, directory fsync),
# written with O_DIRECT and written buffered. The ratio is taken against the
# higher of the two.
echo "== disk ceiling: ${CONNECTIONS} writers, durable 300 KB files (temp + fdatasync + rename + dir fsync), 5 s each"
direct=$("$bin/examples/fsync_ceiling" "$work/ceiling" 5 "$CONNECTIONS" 300000 direct)
buffered=$("$bin/examples/fsync_ceiling" "$work/ceiling-buffered" 5 "$CONNECTIONS" 300000 buffered)
ceiling=$(( direct > buffered ? direct : buffered ))
echo "ceiling: ${direct} writes/s with O_DIRECT, ${buffered} writes/s buffered"

# The CPU's speed today, measured with the collector's own checksum code.
hash_rate=$("$bin/examples/hash_rate" 1)

accepted=$(wc -l < "$work/ids")
missing=0
queued=$(sqlite3 "$work/data/queue.sqlite" "select count(*) from crash_queue_messages" 2>/dev/null || echo "?")
while read -r id; do
  day="20${id:30:6}"
  [ -s "$work/data/crashes/v1/raw_crash/$day/$id" ] && [ -s "$work/data/crashes/v1/dump/$id" ] || missing=$((missing + 1))
done < "$work/ids"
rate=$(python3 -c "print(round($accepted / $DURATION))")
p50=$(grep -o 'p50 [0-9.]* ms' "$work/wrk.out" | awk '{print $2}')
p99=$(grep -o 'p99 [0-9.]* ms' "$work/wrk.out" | awk '{print $2}')
ratio=$(python3 -c "print(f'{$accepted / $DURATION / $ceiling:.2f}')")
ratio_buffered=$(python3 -c "print(f'{$accepted / $DURATION / max($buffered, 1):.2f}')")
server=$(python3 - "$work/metrics.txt" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def value(pattern):
    m = re.search(pattern + r" ([0-9.e+-]+)$", text, re.M)
    return float(m.group(1)) if m else None
count = value(r"socorro_collector_request_seconds_count")
if not count:
    print("not scraped")
    sys.exit()
mean = lambda name: 1000 * value(name + "_sum") / count
over50 = count - value(r'socorro_collector_request_seconds_bucket\{le="0.05"\}')
save = 1000 * value(r'socorro_collector_stage_seconds_sum\{stage="save"\}') / count
publish = 1000 * value(r'socorro_collector_stage_seconds_sum\{stage="publish"\}') / count
print(f"mean {mean('socorro_collector_request_seconds'):.1f} ms (save {save:.1f} ms, publish {publish:.1f} ms), "
      f"over 50 ms: {over50:.0f} of {count:.0f} ({100 * over50 / count:.2f}%)")
PY
) || server="not read from /metrics"

echo
echo "== result"
echo "crashes answered 200:  ${accepted} (${rate}/s), stored and complete: $((accepted - missing)), missing: ${missing}, queued: ${queued}"
echo "latency:               p50 ${p50} ms, p99 ${p99} ms"
echo "disk ceiling:          ${ceiling} durable 300 KB file writes/s (${direct}/s with O_DIRECT, ${buffered}/s buffered)"
echo "ratio to ceiling:      ${ratio}  (target >= 0.75, p99 < 50 ms; ${ratio_buffered} of the buffered ceiling alone)"
echo "inside the collector:  ${server}"
echo "collector CPU:         ${cpu_s} s over ${DURATION} s = $(python3 -c "print(f'{$cpu_s * 1000 / max($accepted, 1):.2f}')") ms CPU per crash (2 cores = $(python3 -c "print(round(2 * $accepted / max($cpu_s, 0.001)))") crashes/s if CPU-bound)"
echo "CPU speed today:       SHA-256 at ${hash_rate} MB/s on one core ($(python3 -c "print(f'{300_000 / max($hash_rate, 1):.0f}')") us per 300 KB dump; cloud machines of one kind differ)"
echo "machine load (1 min):  $(cut -d' ' -f1 /proc/loadavg)"
[ "$missing" -eq 0 ] || { echo "FAIL: ${missing} crashes answered 200 are not stored" >&2; exit 1; }
