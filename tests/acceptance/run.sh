#!/usr/bin/env bash
# The independent acceptance readers (../shared/tools) on the sample of tests/sample.json, or on
# every shared fixture with --all. Needs target/release/vaultwire (tests/run.sh builds it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tools/env.sh"
need_shared || exit 0
python_env
[ -x "$VAULTWIRE_ROOT/target/release/vaultwire" ] || cargo build --locked --release --manifest-path "$VAULTWIRE_ROOT/Cargo.toml"
exec python3 "$here/run.py" "$VAULTWIRE_ROOT/target/release/vaultwire" "$@"
