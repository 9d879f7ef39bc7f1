#!/usr/bin/env bash
# Make sure the OpenSearch-compatible test server for the search tests is
# installed, and print the variable to export.
#
#   scripts/search-test.sh          # install osmem-server if missing; prints `export SOCORRO_TEST_OSMEM_BIN=...`
#   scripts/search-test.sh test     # the same, then run the search crate's tests (both backends)
#
# osmem-server (PyPI) is an in-memory OpenSearch-compatible server whose wheel
# bundles a static binary (osmem_server/bin/osmem-server). The Elasticsearch
# conformance test starts it itself on a free port; it FAILS (never skips) if
# it cannot. With SOCORRO_TEST_ELASTICSEARCH_URL set, the test runs against
# that cluster instead (indices socorrotest<YYYYWW>, deleted at start).
# Usage in CI:  eval "$(scripts/search-test.sh)"
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
log() { echo "search-test: $*" >&2; }

find_bin() {
  python3 -c 'import osmem_server,os;print(os.path.join(os.path.dirname(osmem_server.__file__),"bin","osmem-server"))' 2>/dev/null
}

bin="${SOCORRO_TEST_OSMEM_BIN:-}"
if [[ -z "$bin" || ! -x "$bin" ]]; then
  if ! bin="$(find_bin)" || [[ ! -x "$bin" ]]; then
    log "installing osmem-server (pip)"
    python3 -m pip install -q --disable-pip-version-check osmem-server >&2
    bin="$(find_bin)"
  fi
fi
if [[ ! -x "$bin" ]]; then
  log "osmem-server binary not found after install"
  exit 1
fi
echo "export SOCORRO_TEST_OSMEM_BIN=$bin"

if [[ "${1:-}" == "test" ]]; then
  export SOCORRO_TEST_OSMEM_BIN="$bin"
  cd "$root"
  INSTA_UPDATE="${INSTA_UPDATE:-no}" cargo nextest run -p search
fi
