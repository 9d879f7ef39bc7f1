#!/usr/bin/env bash
# Build the user guide (docs/, an mdBook) and check every internal link.
#
#   scripts/docs-check.sh      # install mdbook if missing, build, check links
#
# mdbook comes from crates.io (`cargo install`, pinned, only the `build`
# command: no server, no file watcher) into target/tools, so CI needs nothing
# but cargo. The link check (scripts/check_links.py) reads the generated HTML:
# every relative link must name a page that exists and, with `#anchor`, an
# element id on that page.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
MDBOOK_VERSION=0.5.4
tools="$root/target/tools"
mdbook="$tools/bin/mdbook"
if ! { [ -x "$mdbook" ] && "$mdbook" --version | grep -q "$MDBOOK_VERSION"; }; then
  echo "docs-check: installing mdbook $MDBOOK_VERSION (cargo install)" >&2
  cargo install --locked --quiet --root "$tools" --no-default-features \
    --version "$MDBOOK_VERSION" mdbook
fi
rm -rf "$root/docs/book"
"$mdbook" build "$root/docs"
python3 "$root/scripts/check_links.py" "$root/docs/book"
