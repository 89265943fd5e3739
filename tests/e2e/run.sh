#!/usr/bin/env bash
# End to end against a real OpenBao (bao server -dev on 127.0.0.1, random port): mount mode
# through a real agent and vault-k8s' own injector code (tests/injector-oracle, built once with Go
# into the tool cache), partial/full through ESO's and VSO's rules, KV v1, `vaultwire check`.
# Runs target/release/vaultwire, built first (release_binary); pytest's summary line ends the output.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tools/env.sh"
need_shared || true # without ../shared (never in CI) the tests over it are skipped
python_env
cd "$VAULTWIRE_ROOT"
release_binary >/dev/null
exec python3 -m pytest -p no:cacheprovider -q -rfE --tb=short tests/e2e "$@"
