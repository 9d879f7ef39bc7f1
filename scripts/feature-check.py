#!/usr/bin/env python3
"""Check that `make run` can reuse the dependencies `make test` compiled.

Cargo unifies features per build: the test build (every crate, with its
dev-dependencies) can turn on features of a crates.io dependency that the
`socorro` binary's own build does not, and then `make run` after `make test`
compiles that dependency and everything above it a second time (minutes on
CI's 2 cores). This compares the features of each crates.io package in the
two builds, as `cargo tree` resolves them, and fails when the run build
needs a package with a set of features the test build does not compile (a
package can appear more than once, e.g. for the host and for the target).
Workspace crates are left out: their test-only features (`testsuite`,
`ui-test`) cost seconds to rebuild.

    python3 scripts/feature-check.py FEATURES   # the test build's --features (make feature-check)
"""

import subprocess
import sys

def features(args):
    """{(name, version): {"features", ...}} for every crates.io package in a tree."""
    out = subprocess.run(
        ["cargo", "tree", "--prefix", "none", "--format", "{p}|{f}", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    found = {}
    for line in out.splitlines():
        package, _, feats = line.partition("|")
        parts = package.split()
        if len(parts) < 2 or "(/" in package:
            continue  # a workspace crate (path source) or a blank line
        feats = feats.replace(" (*)", "").replace(" (proc-macro)", "").strip()
        found.setdefault((parts[0], parts[1]), set()).add(feats)
    return found


def main():
    if len(sys.argv) != 2:
        print("usage: feature-check.py TEST_FEATURES", file=sys.stderr)
        return 2
    run = features(["-p", "socorro", "--edges", "no-dev"])
    test = features(["--workspace", "--features", sys.argv[1]])
    differ = [
        f"  {name} {version}: run {sorted(run[name, version])}, test {sorted(test[name, version])}"
        for name, version in sorted(run)
        if (name, version) in test and not run[name, version] <= test[name, version]
    ]
    if differ:
        print(
            "feature-check: `make run` would recompile these (and their dependents) "
            "after `make test`; turn the features on in the workspace Cargo.toml:",
            *differ,
            sep="\n",
            file=sys.stderr,
        )
        return 1
    print(f"feature-check: {len(run)} crates.io packages of `socorro` built alike for run and test")
    return 0


if __name__ == "__main__":
    sys.exit(main())
