#!/usr/bin/env bash
# Super Search benchmark (make bench-search).
#
# Indexes DOCS (default 1,000,000) synthetic processed crashes spread over 28
# days into the embedded Tantivy backend (weekly indices in a temp dir) and
# prints docs/s, then runs QUERIES (default 300) mixed Super Search queries
# over the default 7-day range and prints p50/p99 per kind and overall:
#   - term filter (product) + 3 facets (signature, platform, version) + date histogram
#   - text contains (signature=~word) + a facet
#   - term filter + sort (-date) + page (offset up to 980, 50 rows)
# Target: p50 < 50 ms, p99 < 200 ms on 2 cores.
#
#   scripts/bench-search.sh                      # Tantivy
#   ES_URL=http://127.0.0.1:9200 scripts/bench-search.sh   # an Elasticsearch/OpenSearch cluster
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
DOCS=${DOCS:-1000000}
QUERIES=${QUERIES:-300}

args=(--docs "$DOCS" --queries "$QUERIES")
if [[ -n "${ES_URL:-}" ]]; then
  args+=(--elasticsearch "$ES_URL")
fi
cargo build --release -q -p search --features testsuite --example bench_search
exec "$root/target/release/examples/bench_search" "${args[@]}"
