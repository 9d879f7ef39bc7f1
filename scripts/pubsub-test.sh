#!/usr/bin/env bash
# Make sure the Pub/Sub emulator for crash-queue's Pub/Sub tests is built, and
# print the variable to export.
#
#   scripts/pubsub-test.sh            # = install
#   scripts/pubsub-test.sh install    # apt-get the Go toolchain and Google's fake if missing,
#                                     # build target/pubsub-emulator/pubsub-emulator when its
#                                     # source is newer; prints `export SOCORRO_TEST_PUBSUB_EMULATOR_BIN=...`
#   scripts/pubsub-test.sh test       # the same, then run crash-queue's tests
#
# The emulator is scripts/pubsub-emulator/main.go: Google's in-memory fake
# cloud.google.com/go/pubsub/pstest (Debian golang-google-cloud-dev, Go
# sources) serving the google.pubsub.v1 gRPC API, built in GOPATH mode (no
# module proxy). The tests start one per test on a free port (`-port 0`; it
# prints `READY host:port`, in well under a second); they FAIL (never skip)
# when they cannot find it.
# Usage in CI:  eval "$(scripts/pubsub-test.sh)"
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
log() { echo "pubsub-test: $*" >&2; }

src="$root/scripts/pubsub-emulator/main.go"
out_dir="$root/target/pubsub-emulator"
bin="$out_dir/pubsub-emulator"
fake_src=/usr/share/gocode/src/cloud.google.com/go/pubsub/pstest/fake.go

install() {
  local missing=()
  command -v go >/dev/null 2>&1 || missing+=(golang-go)
  [[ -f "$fake_src" ]] || missing+=(golang-google-cloud-dev)
  if ((${#missing[@]})); then
    log "installing ${missing[*]} (apt-get)"
    local sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    if ! DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
      log "apt-get install failed; running apt-get update and trying again"
      "${sudo[@]}" apt-get update >&2
      DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >&2
    fi
  fi
  if [[ ! -x "$bin" || "$src" -nt "$bin" || "$0" -nt "$bin" ]]; then
    log "building $bin"
    mkdir -p "$out_dir/gopath"
    # GOPATH mode: imports come from Debian's /usr/share/gocode, nothing is downloaded.
    (cd "$root/scripts/pubsub-emulator" &&
      GO111MODULE=off GOPATH="$out_dir/gopath:/usr/share/gocode" GOCACHE="$out_dir/gocache" \
        GOFLAGS= GOPROXY=off go build -o "$bin.tmp" .) >&2
    mv "$bin.tmp" "$bin"
  fi
  if [[ ! -x "$bin" ]]; then
    log "emulator binary $bin missing after build"
    exit 1
  fi
  echo "export SOCORRO_TEST_PUBSUB_EMULATOR_BIN=$bin"
}

case "${1:-install}" in
  install)
    install
    ;;
  test)
    line=$(install)
    echo "$line"
    export SOCORRO_TEST_PUBSUB_EMULATOR_BIN="$bin"
    cd "$root"
    cargo nextest run -p crash-queue
    ;;
  *)
    log "usage: $0 [install|test]"
    exit 2
    ;;
esac
