#!/usr/bin/env bash
# The WASM proof, called by tests/run.sh (needs nothing else from it):
#   1. the wasm crate: fmt, clippy (wasm32), its unit tests;
#   2. web/build.sh: wasm-bindgen build (web + nodejs), wasm-opt, the 1 MB budget, the page as one
#      self-contained file, web/dist/vaultwire-preview.html;
#   3. parity: the nodejs build vs target/release/vaultwire, byte for byte, over the sample that
#      tests/wasm/parity.mjs defines (examples, one render per shared chart, three Portkey ones) x
#      every mode;
#   4. the wasm32-wasip1 CLI under the PyPI wasmtime wheel (tests/wasm/wasip1.py) over the same matrix;
#   5. the EXPERIMENTAL Helm 4 Wasm plugin under an Extism host (PyPI `extism`), the sample's streams;
#   6. the page in Debian's chromium driven by npm playwright-core, opened from the file:// URL
#      that `target/release/vaultwire preview` prints (no server: its CSP meta tag, no request).
# Installs what is missing: rust targets, wasm-bindgen-cli (pinned), npm binaryen, esbuild and
# playwright-core (under target/wasm-node), the venv of tests/requirements.txt (wasmtime, extism),
# Debian chromium.
# Ends with `N passed, M failed`.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
source tests/tools/env.sh
python_env
need_shared || true
tools=target/wasm-node
passed=0
failed=0

# step NAME CMD...: runs CMD; counts the `X: N passed, M failed` line it prints, else 1 pass/fail.
step() {
  local name=$1 log line p f rc
  shift
  log=$(mktemp)
  echo "== wasm: $name"
  local t0=$SECONDS
  "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  line=$(grep -E '^[a-z0-9-]+: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -1)
  if [ -n "$line" ]; then
    p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")
    f=$(sed -E 's/.* ([0-9]+) failed$/\1/' <<<"$line")
  else
    p=$((rc == 0 ? 1 : 0)) f=0
  fi
  [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
  passed=$((passed + p))
  failed=$((failed + f))
  echo "== wasm: $name: exit $rc, $p passed, $f failed ($((SECONDS - t0)) s)"
  rm -f "$log"
}

setup() {
  rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
  rustup target list --installed | grep -qx wasm32-wasip1 || rustup target add wasm32-wasip1
  rustup component add rustfmt clippy >/dev/null 2>&1 || true
  cargo build --locked --release -q
}

crate_checks() {
  (cd wasm && cargo fmt --all -- --check) &&
    (cd wasm && CARGO_TARGET_DIR="$root/target/wasm" cargo clippy --locked -q --release \
      --target wasm32-unknown-unknown --workspace -- -D warnings) &&
    (cd wasm && CARGO_TARGET_DIR="$root/target/wasm" cargo test --locked -q --release -p vaultwire-wasm)
}

wasip1() {
  cargo build --locked --release -q --target wasm32-wasip1 --bin vaultwire || return 1
  echo "wasm32-wasip1 CLI: $(wc -c < target/wasm32-wasip1/release/vaultwire.wasm) bytes"
  python3 tests/wasm/wasip1.py target/wasm32-wasip1/release/vaultwire.wasm target/wasm-parity
}

helm_plugin() {
  bash wasm/helm-plugin/build.sh || return 1
  python3 tests/wasm/helm_plugin.py target/helm-wasm-plugin/vaultwire-wasm target/release/vaultwire target/wasm-parity
}

browser_tools() {
  if [ ! -x /usr/bin/chromium ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || return 1
  fi
  [ -d "$tools/node_modules/playwright-core" ] ||
    npm install --prefix "$tools" --no-audit --no-fund --silent playwright-core@1.65.1
}

browser_fixture() {
  if [ -f ../shared/fixtures/portkey/gateway-1.7.7-main--base.helm4-stdin.yaml ]; then
    echo ../shared/fixtures/portkey/gateway-1.7.7-main--base.helm4-stdin.yaml
  else
    echo examples/portkey-mini.helm4-stdin.yaml
  fi
}

# The page from file://, as a user opens it: the URL `vaultwire preview` prints (found in
# web/dist under the current directory, which step 2 built; $VAULTWIRE_PREVIEW_PAGE unset so
# that it is this page).
browser() {
  browser_tools || return 1
  local url
  url=$(env -u VAULTWIRE_PREVIEW_PAGE target/release/vaultwire preview) || return 1
  echo "vaultwire preview printed $url"
  VAULTWIRE_PREVIEW_URL="$url" PLAYWRIGHT_CORE="$root/$tools/node_modules/playwright-core" \
    timeout 300 node tests/wasm/browser.mjs "$root" "$(browser_fixture)"
}

step setup setup
step "wasm crate: fmt, clippy, unit tests" crate_checks
step "web/build.sh" bash web/build.sh
step "parity (Node)" node tests/wasm/parity.mjs "$root" target/wasm-out/nodejs
step "wasm32-wasip1 CLI under wasmtime (PyPI)" wasip1
step "Helm 4 Wasm plugin (experimental)" helm_plugin
step "browser from file://" browser
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
