#!/usr/bin/env bash
# Headless Chromium for the webapp UI test.
#
#   eval "$(scripts/ui-test.sh)"          # install if missing, export paths
#   scripts/ui-test.sh run                # ... and run the test
#
# Installs the Debian packages `chromium` and `chromium-driver` when they are
# missing (needs root or sudo), then prints the environment the test reads:
# SOCORRO_UI_CHROMIUM (browser binary) and SOCORRO_UI_CHROMEDRIVER (driver).
# The test itself (crates/webapp/tests/ui.rs, feature `ui-test`) fails when
# either is missing; it never skips.
set -euo pipefail

log() { echo "ui-test: $*" >&2; }

find_bin() {
    for c in "$@"; do
        if command -v "$c" >/dev/null 2>&1; then command -v "$c"; return 0; fi
        if [ -x "$c" ]; then echo "$c"; return 0; fi
    done
    return 1
}

chromium=$(find_bin chromium /usr/bin/chromium chromium-browser || true)
driver=$(find_bin chromedriver /usr/bin/chromedriver || true)
if [ -z "$chromium" ] || [ -z "$driver" ]; then
    log "installing chromium and chromium-driver (Debian packages)"
    sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq >&2
    $sudo apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core >&2
    chromium=$(find_bin chromium /usr/bin/chromium)
    driver=$(find_bin chromedriver /usr/bin/chromedriver)
fi
log "$("$chromium" --version 2>/dev/null || echo "chromium at $chromium")"
log "$("$driver" --version 2>/dev/null | head -1 || echo "chromedriver at $driver")"

echo "export SOCORRO_UI_CHROMIUM=$chromium"
echo "export SOCORRO_UI_CHROMEDRIVER=$driver"

if [ "${1:-}" = "run" ]; then
    cd "$(dirname "$0")/.."
    export SOCORRO_UI_CHROMIUM="$chromium" SOCORRO_UI_CHROMEDRIVER="$driver"
    cargo nextest run -p webapp --features ui-test --test ui --no-fail-fast >&2
fi
