#!/usr/bin/env bash
# The independent acceptance readers (../shared/tools) on the sample of tests/sample.json, or on
# every shared fixture with --all. Runs target/release/vaultwire, built first (release_binary).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tools/env.sh"
need_shared || exit 0
python_env
bin=$(release_binary)
exec python3 "$here/run.py" "$bin" "$@"
