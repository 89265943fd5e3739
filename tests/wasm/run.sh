#!/usr/bin/env bash
# The WASM proof. Its property is byte parity across the builds of the library (Node wasm-bindgen,
# the wasip1 CLI, the Helm Wasm plugin under Extism, each against the native CLI) on a small
# representative sample (tests/sample.json, the one every suite but tests/it runs), and the page in a real browser.
# What every fixture does in every mode is the Rust integration tests' job, not this suite's.
#
# Setup and builds (not tests: the run stops at the first that fails, and none is counted):
#   rust targets and fmt/clippy components; the venv of tests/requirements.txt (wasmtime, extism)
#   and the npm tools from tests/tools/env.sh; Debian chromium when /usr/bin/chromium is missing;
#   target/release/vaultwire; cargo fmt --check and clippy -D warnings (wasm32) of the wasm
#   workspace; its unit tests' build (dev profile); web/build.sh (both wasm32 modules in one cargo
#   run by wasm/build.sh, wasm-bindgen-cli from the tool cache, wasm-opt, the 1 MB budget, esbuild,
#   skipped when unchanged); the wasip1 CLI; the Helm plugin directory.
# Checks (the only things counted):
#   wasm-unit         the wasm crate's unit tests;
#   node-parity       the Node build vs target/release/vaultwire over the sample x 4 modes
#                     (writes target/wasm-parity/ with the native results);
#   wasip1-parity     target/wasm32-wasip1/release/vaultwire.wasm under the PyPI wasmtime wheel,
#                     same matrix, same stdout/stderr bytes and exit codes (tests/wasm/wasip1.py);
#   helm-wasm-plugin  the Helm 4 Wasm plugin under PyPI extism over the sample's streams;
#   browser           the page from file:// in chromium (playwright-core).
# Ends with `wasm: N passed, M failed` and each part's time. Everything shares the main target
# directory (target/); nothing is installed into the repository.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
source tests/tools/env.sh
passed=0
failed=0
times=()
building=""
started=$SECONDS
trap 'rc=$?; [ $rc -ne 0 ] && [ -n "$building" ] &&
  echo "wasm: stopped: the setup/build step \"$building\" failed (exit $rc); no test counted, $passed passed and $failed failed before it" >&2' EXIT

# build NAME CMD...: a setup or build step; its failure ends the run (set -e); never counted.
build() {
  local name=$1 t0=$SECONDS
  shift
  echo "== wasm: $name"
  building=$name
  "$@"
  building=""
  times+=("$name $((SECONDS - t0)) s")
}

# check NAME CMD...: a check; adds the `X: N passed, M failed` line CMD prints (its last one);
# a non-zero exit with no failure counted, or no such line, counts one failure.
check() {
  local name=$1 t0=$SECONDS log line p=0 f=0 rc
  shift
  echo "== wasm: $name"
  log=$(mktemp)
  set +e
  "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  set -e
  line=$(grep -E '^[a-z0-9-]+: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -1 || true)
  rm -f "$log"
  if [ -n "$line" ]; then
    p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")
    f=$(sed -E 's/.* ([0-9]+) failed$/\1/' <<<"$line")
  fi
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    if [ -n "$line" ]; then echo "FAIL $name: exit $rc after \"$line\""; else echo "FAIL $name: exit $rc, no result line"; fi
    f=1
  fi
  passed=$((passed + p))
  failed=$((failed + f))
  times+=("$name $((SECONDS - t0)) s ($p passed, $f failed)")
}

setup() {
  local t
  for t in wasm32-unknown-unknown wasm32-wasip1; do
    rustup target list --installed | grep -qx "$t" || rustup target add "$t"
  done
  rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
  rustup component list --installed | grep -q '^clippy' || rustup component add clippy
  python_env
  node_modules=$(node_tools)
  if [ ! -x /usr/bin/chromium ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
  # Without ../shared the sample is the examples only; under CI=true need_shared exits 1.
  need_shared || true
}

native() { release_binary >/dev/null; }

wasm_checks() {
  (cd wasm && cargo fmt --all -- --check)
  (cd wasm && CARGO_TARGET_DIR="$root/target" cargo clippy --locked -q \
    --target wasm32-unknown-unknown --workspace -- -D warnings)
  # Dev profile: the release profile's LTO would make the test build slow.
  (cd wasm && CARGO_TARGET_DIR="$root/target" cargo test --locked -q -p vaultwire-wasm --no-run)
}

wasip1_build() {
  cargo build --locked --release -q --target wasm32-wasip1 --bin vaultwire
  echo "wasm32-wasip1 CLI: $(wc -c < target/wasm32-wasip1/release/vaultwire.wasm) bytes"
}

# The unit tests, already built: `test result:` lines summed into one count line.
unit_tests() {
  local out rc
  set +e
  out=$(cd wasm && CARGO_TARGET_DIR="$root/target" cargo test --locked -q -p vaultwire-wasm 2>&1)
  rc=$?
  set -e
  echo "$out"
  awk '/^test result:/ { for (i = 1; i < NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
    END { printf "wasm-unit: %d passed, %d failed\n", p, f }' <<<"$out"
  return $rc
}

browser_fixture() {
  if [ -f ../shared/fixtures/portkey/gateway-1.7.7-main--base.helm4-stdin.yaml ]; then
    echo ../shared/fixtures/portkey/gateway-1.7.7-main--base.helm4-stdin.yaml
  else
    echo examples/portkey-mini.helm4-stdin.yaml
  fi
}

# The page from file://, as a user opens it: the URL `vaultwire preview` prints (found in
# web/dist under the current directory, which web/build.sh built; $VAULTWIRE_PREVIEW_PAGE unset
# so that it is this page).
browser() {
  local url
  url=$(env -u VAULTWIRE_PREVIEW_PAGE target/release/vaultwire preview) || return 1
  echo "vaultwire preview printed $url"
  VAULTWIRE_PREVIEW_URL="$url" PLAYWRIGHT_CORE="$node_modules/playwright-core" \
    timeout 300 node tests/wasm/browser.mjs "$root" "$(browser_fixture)"
}

build "setup (targets, venv, npm tools, chromium)" setup
build "native CLI (cargo build --release)" native
build "wasm workspace: fmt, clippy wasm32, unit test build" wasm_checks
build "web/build.sh (both wasm32 modules, wasm-bindgen, wasm-opt, esbuild)" bash web/build.sh
build "wasip1 CLI build" wasip1_build
build "Helm Wasm plugin directory" bash wasm/helm-plugin/build.sh

check "wasm crate unit tests" unit_tests
check "parity: Node build vs native CLI" node tests/wasm/parity.mjs "$root" target/wasm-out/nodejs
check "parity: wasip1 CLI under wasmtime vs native CLI" \
  python3 tests/wasm/wasip1.py target/wasm32-wasip1/release/vaultwire.wasm target/wasm-parity
check "parity: Helm 4 Wasm plugin under Extism vs native CLI (experimental)" \
  python3 tests/wasm/helm_plugin.py target/helm-wasm-plugin/vaultwire-wasm target/release/vaultwire target/wasm-parity
check "browser from file://" browser

echo "== wasm: times"
for t in "${times[@]}"; do echo "  $t"; done
echo "  total $((SECONDS - started)) s"
echo "wasm: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
