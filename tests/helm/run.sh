#!/usr/bin/env bash
# The Helm tests: vaultwire's binary and plugins under real Helm CLIs, v3.22 and v4.3, each built once
# with Go into the tool cache (tests/tools/helm.sh), and one test through Helm 4's Go SDK (the PyPI
# wheel helm-python-sdk) for what the CLI cannot show: the hooks of a stored release. Runs
# target/release/vaultwire, built first (release_binary); builds the release tarballs (helm-plugin/package.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tools/env.sh"
python_env
cd "$VAULTWIRE_ROOT"
VAULTWIRE_HELM3=$(bash tests/tools/helm.sh v3.22.0)
VAULTWIRE_HELM4=$(bash tests/tools/helm.sh v4.3.1)
export VAULTWIRE_HELM3 VAULTWIRE_HELM4
release_binary >/dev/null
bash helm-plugin/package.sh # target/dist: the release tarballs test_package.py installs (seconds when built)
# `run.sh tests/helm/test_x.py [pytest args]` runs those tests only; otherwise every test here.
[ "$#" -gt 0 ] && [ -e "$1" ] || set -- "$here" "$@"
exec python3 -m pytest -p no:cacheprovider -q "$@"
