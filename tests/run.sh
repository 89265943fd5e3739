#!/usr/bin/env bash
# The gate: the one command that runs every test (.ci/run calls it). tests/README.md maps each suite
# to what it alone proves and to its time. Tools are installed once into the tool cache
# (tests/tools/env.sh); lint and builds stop the run at once when they fail; every suite runs, and
# the run fails if any did. Ends with each suite's result and time.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/tools/env.sh
need_shared || true # under CI=true a missing ../shared has already stopped the run

gate_start=$SECONDS
step() { # step NAME CMD...: a lint or build step; its failure ends the run
  local t0=$SECONDS
  echo "== $1"
  shift
  "$@"
  echo "== done in $((SECONDS - t0)) s"
}
results=()
failed=0
suite() { # suite NAME CMD...: a test suite; every one runs, each failure is counted
  local name=$1 t0=$SECONDS rc=0
  shift
  echo "== suite $name"
  "$@" || rc=$?
  results+=("$(printf '%-12s %-6s %4d s' "$name" "$([ "$rc" -eq 0 ] && echo ok || echo FAILED)" $((SECONDS - t0)))")
  [ "$rc" -eq 0 ] || failed=$((failed + 1))
}

rustup component add rustfmt clippy >/dev/null 2>&1 || true
step "fmt, clippy" bash -c 'cargo fmt --all -- --check && cargo clippy --locked -q --all-targets -- -D warnings'
step "release binary" cargo build --locked -q --release
suite cargo cargo test --locked -q
suite acceptance bash tests/acceptance/run.sh
suite schemas bash tests/schemas/run.sh
suite helm bash tests/helm/run.sh
suite wasm bash tests/wasm/run.sh
suite e2e bash tests/e2e/run.sh
suite fuzz bash tests/fuzz/replay.sh

echo "== gate: $((SECONDS - gate_start)) s"
printf '  %s\n' "${results[@]}"
[ "$failed" -eq 0 ] || { echo "gate: $failed suite(s) failed"; exit 1; }
