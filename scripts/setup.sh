#!/usr/bin/env bash
# Install and start what the test suites need. Idempotent and quick when all
# is already there. Writes the servers' URLs to target/.test-env, which
# scripts/test-env.sh (sourced by `make test`) exports.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$root/target"
env_file="$root/target/.test-env"
: > "$env_file"

if ! command -v cargo-nextest >/dev/null 2>&1; then
  echo "setup: installing cargo-nextest" >&2
  cargo install --locked cargo-nextest
fi

# PostgreSQL: the running server on 127.0.0.1:5432, or a throwaway cluster.
if [ -f "$root/scripts/pg-test.sh" ]; then
  bash "$root/scripts/pg-test.sh" >> "$env_file"
fi

# OpenSearch-compatible test server (osmem-server, PyPI) for the search suite.
bash "$root/scripts/search-test.sh" >> "$env_file"

# Headless Chromium + chromedriver (Debian packages) for the webapp UI test.
bash "$root/scripts/ui-test.sh" >> "$env_file"

# Google's Pub/Sub fake (pstest, Debian Go sources) for crash-queue's Pub/Sub tests.
bash "$root/scripts/pubsub-test.sh" install >> "$env_file"

# Ceph RADOS Gateway (Debian packages): a real S3 server for crash-storage's
# S3 tests; keeps running (memstore) until `scripts/s3-test.sh stop`.
bash "$root/scripts/s3-test.sh" start >> "$env_file"
