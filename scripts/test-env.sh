# Sourced by `make test`: exports the URLs of the servers scripts/setup.sh started.
_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -f "$_root/target/.test-env" ]; then
  set -a
  # shellcheck disable=SC1091
  source "$_root/target/.test-env"
  set +a
fi
unset _root
