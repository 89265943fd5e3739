#!/usr/bin/env bash
# The Helm integration tests: vaultwire's plugins through real Helm 4 (the helm-python-sdk wheel
# bundles Helm 4's Go SDK; there is no helm binary here). Needs target/release/vaultwire.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
python3 -c 'import helm_python, pytest, yaml' 2>/dev/null ||
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore 'helm-python-sdk==0.2.2' pytest pyyaml
cd "$here/../.."
[ -x target/release/vaultwire ] || cargo build --release
exec python3 "$here/session.py" -p no:cacheprovider "$here" "$@"
