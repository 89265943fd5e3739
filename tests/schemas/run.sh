#!/usr/bin/env bash
# Schema validation of every document vaultwire writes for the sample (Kubernetes' schemas and the
# operators' CRDs). Runs target/release/vaultwire, built first (release_binary).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tools/env.sh"
need_shared || exit 0
python_env
release_binary >/dev/null
exec python3 "$here/validate.py"
