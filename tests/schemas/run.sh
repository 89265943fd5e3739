#!/usr/bin/env bash
# Schema validation of every document vaultwire writes for the sample (Kubernetes' schemas and the
# operators' CRDs). Needs target/release/vaultwire (tests/run.sh builds it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tools/env.sh"
need_shared || exit 0
python_env
exec python3 "$here/validate.py"
