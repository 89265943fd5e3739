#!/usr/bin/env bash
# End to end against a real OpenBao (bao server -dev on 127.0.0.1, random port): mount mode
# through a real agent and vault-k8s' own injector code (tests/injector-oracle, built once with Go
# into the tool cache), partial/full through ESO's and VSO's rules, KV v1, `vaultwire check`.
# Needs target/release/vaultwire (tests/run.sh builds it); pytest's summary line ends the output.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tools/env.sh"
need_shared || true # without ../shared (never in CI) the tests over it are skipped
python_env
cd "$VAULTWIRE_ROOT"
[ -x target/release/vaultwire ] || cargo build --locked --release -q
exec python3 -m pytest -p no:cacheprovider -q -rfE --tb=short tests/e2e "$@"
