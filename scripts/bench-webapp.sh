#!/usr/bin/env bash
# make bench-webapp: server time of every webapp page on a 100,000-crash
# embedded data set (Tantivy + FS storage + SQLite), built in a temp dir.
# Fails if a page's p95 server time is over BENCH_BUDGET_MS (default 100).
#   BENCH_CRASHES=100000 BENCH_RUNS=30 BENCH_BUDGET_MS=100 scripts/bench-webapp.sh
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release --quiet -p webapp --example bench_webapp
