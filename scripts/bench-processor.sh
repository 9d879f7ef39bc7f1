#!/usr/bin/env bash
# Processor CPU benchmark (make bench-processor).
#
# Processes the corpus dumps (real Firefox dumps with their annotations,
# rust-minidump and Breakpad test dumps) with warm symbols through the full
# processor pipeline (in-process minidump-processor + the mozilla ruleset +
# signature), and the same dumps with the bare `minidump-stackwalk` binary,
# in the same run, and prints CPU seconds per crash and the ratio
# (target: ours / minidump-stackwalk <= 1.1).
#
# "Warm symbols": symbol files decompressed on local disk and read once
# before measuring. minidump-stackwalk is one process per crash, so it
# re-parses the symbol files of every crash; the processor keeps parsed
# symbols in memory across crashes. The `--cold` figure drops the parsed
# symbols before every crash, to compare like for like.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
REPEAT=${REPEAT:-3}
MDSW_VERSION=${MDSW_VERSION:-0.27.0}
testdata="$root/../shared/testdata"

if ! command -v minidump-stackwalk >/dev/null 2>&1 \
   || ! minidump-stackwalk --version 2>/dev/null | grep -q "$MDSW_VERSION"; then
  echo "installing minidump-stackwalk $MDSW_VERSION" >&2
  cargo install -q --locked minidump-stackwalk --version "$MDSW_VERSION"
fi
mdsw=$(command -v minidump-stackwalk || echo "$HOME/.cargo/bin/minidump-stackwalk")

cargo build --release -q -p processor --example bench_process
ours="$root/target/release/examples/bench_process"

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-processor.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/dumps" "$work/symbols"

# dumps (+ annotations), decompressed
for f in "$testdata"/real-firefox/minidumps/*.dmp.xz; do
  b=$(basename "$f" .dmp.xz)
  xz -dc "$f" > "$work/dumps/$b.dmp"
  xz -dc "$testdata/real-firefox/minidumps/$b.extra.xz" > "$work/dumps/$b.extra"
done
for f in test linux-mini pipeline-inlines-macos-segv; do
  cp "$testdata/rust-minidump/testdata/$f.dmp" "$work/dumps/"
done
cp "$testdata/breakpad/processor-testdata/minidump2.dmp" "$work/dumps/"

# symbol trees, decompressed and merged
for src in "$testdata/real-firefox/symbols" "$testdata/rust-minidump/testdata/symbols" \
           "$testdata/breakpad/processor-testdata/symbols"; do
  (cd "$src" && find . -type f) | while read -r rel; do
    dst="$work/symbols/${rel%.xz}"
    mkdir -p "$(dirname "$dst")"
    case "$rel" in
      *.xz) xz -dc "$src/$rel" > "$dst" ;;
      *) cp "$src/$rel" "$dst" ;;
    esac
  done
done

dumps=("$work"/dumps/*.dmp)
n=${#dumps[@]}

# warm-up: page cache for dumps and symbols
for d in "${dumps[@]}"; do
  "$mdsw" --json --symbols-path "$work/symbols" "$d" > /dev/null 2>&1 || true
done

TIMEFORMAT='%U %S'
mdsw_cpu=$( { time (
  for _ in $(seq "$REPEAT"); do
    for d in "${dumps[@]}"; do
      "$mdsw" --json --symbols-path "$work/symbols" "$d" > /dev/null 2>&1 || true
    done
  done
) ; } 2>&1 | awk '{print $1 + $2}')
mdsw_per=$(awk -v c="$mdsw_cpu" -v n="$n" -v r="$REPEAT" 'BEGIN {printf "%.4f", c / (n * r)}')

warm=$("$ours" --symbols-path "$work/symbols" --repeat "$REPEAT" "${dumps[@]}" | sed -n 's/.*cpu_per_crash=//p')
cold=$("$ours" --symbols-path "$work/symbols" --repeat "$REPEAT" --cold "${dumps[@]}" | sed -n 's/.*cpu_per_crash=//p')

echo "dumps: $n x $REPEAT repeats"
printf '%-44s %10s\n' "engine" "CPU s/crash"
printf '%-44s %10s\n' "minidump-stackwalk $MDSW_VERSION (bare)" "$mdsw_per"
printf '%-44s %10s\n' "processor, warm in-memory symbols" "$warm"
printf '%-44s %10s\n' "processor, symbols re-parsed per crash" "$cold"
awk -v o="$warm" -v c="$cold" -v m="$mdsw_per" 'BEGIN {
  printf "ratio processor/minidump-stackwalk: %.2f (warm), %.2f (re-parsed); target <= 1.1\n", o / m, c / m
}'
