#!/usr/bin/env bash
# Builds the browser preview as one self-contained file, web/dist/vaultwire-preview.html (never
# committed; esbuild bundles web/app.js with the wasm-bindgen glue, the optimized .wasm and the
# example, and web/inline.mjs puts that bundle and the style inline, under a
# Content-Security-Policy), and the Node build of the same module into target/wasm-out/nodejs/
# (for tests/wasm and bench). The tools come from the tool cache (tests/tools/env.sh), installed
# once: wasm-bindgen-cli at exactly the version wasm/Cargo.toml pins (never whatever
# `wasm-bindgen` is on PATH), npm's binaryen (wasm-opt) and esbuild at the versions env.sh pins.
# The module is built by wasm/build.sh. wasm-bindgen, wasm-opt and esbuild run only when their
# inputs changed (the sha256 of the raw .wasm, the web/ sources, the example, the tool versions
# and this script, kept in target/wasm-out/inputs.sha256); the budget and the sizes are checked
# and printed every time.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source tests/tools/env.sh
out=target/wasm-out
dist=web/dist
page=$dist/vaultwire-preview.html
stamp=$out/inputs.sha256
pin=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' wasm/Cargo.toml)
[ -n "$pin" ] || { echo "web/build.sh: no exact wasm-bindgen pin in wasm/Cargo.toml" >&2; exit 1; }

bash wasm/build.sh
raw=target/wasm32-unknown-unknown/release/vaultwire_wasm.wasm

inputs=$({
  echo "wasm-bindgen-cli $pin; $VAULTWIRE_NODE_PACKAGES"
  sha256sum "$raw" web/build.sh web/app.js web/index.html web/style.css web/inline.mjs \
    examples/portkey-mini.helm4-stdin.yaml
} | sha256sum | cut -d' ' -f1)

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$inputs" ] && [ -f "$page" ] && [ -f "$out/opt.wasm" ] &&
  [ -f "$out/bound.wasm" ] && [ -f "$out/nodejs/vaultwire_wasm.js" ] && [ -f "$out/web/vaultwire_wasm.js" ]; then
  echo "web/build.sh: inputs unchanged ($stamp), wasm-bindgen, wasm-opt and esbuild skipped"
else
  # only the wasm-bindgen binary, without the TLS stack its test runner needs: half the cold install
  bindgen="$(cargo_tool wasm-bindgen-cli "$pin" --no-default-features --bin wasm-bindgen)/wasm-bindgen"
  node_modules=$(node_tools)
  [ "$("$bindgen" --version | cut -d' ' -f2)" = "$pin" ] || {
    echo "web/build.sh: $bindgen is not wasm-bindgen $pin" >&2
    exit 1
  }
  rm -rf "$out" "$dist"
  for t in web nodejs; do
    "$bindgen" --target "$t" --no-typescript --out-dir "$out/$t" "$raw"
  done
  # The two targets differ only in their JS glue; optimize the module once and use it in both.
  cmp -s "$out/web/vaultwire_wasm_bg.wasm" "$out/nodejs/vaultwire_wasm_bg.wasm"
  cp "$out/web/vaultwire_wasm_bg.wasm" "$out/bound.wasm"
  node "$node_modules/binaryen/bin/wasm-opt" -Oz --strip-debug --strip-producers \
    --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$out/bound.wasm" -o "$out/opt.wasm"
  cp "$out/opt.wasm" "$out/web/vaultwire_wasm_bg.wasm"
  cp "$out/opt.wasm" "$out/nodejs/vaultwire_wasm_bg.wasm"

  # The page's one script: app.js with everything it imports. `vaultwire-wasm/` is the web build
  # above; the .wasm (the optimized one) is embedded as base64 and decoded to bytes, and the
  # example stream as text, so that "Load the example chart" needs no request. ESM, as the inline
  # <script type="module"> it becomes; a target older than esnext, so that the .wasm is decoded
  # by esbuild's own helper where a browser lacks Uint8Array.fromBase64.
  mkdir -p "$dist"
  "$node_modules/.bin/esbuild" web/app.js --bundle --format=esm --target=es2022 \
    --alias:vaultwire-wasm="./$out/web" --loader:.wasm=binary --loader:.yaml=text \
    --log-level=warning --outfile="$out/page.js"
  node web/inline.mjs "$page" web "$out/page.js"
  echo "$inputs" > "$stamp"
fi

size=$(wc -c < "$out/opt.wasm")
echo "web/build.sh: vaultwire_wasm_bg.wasm $size bytes optimized (budget 1048576); wasm-bindgen output $(wc -c < "$out/bound.wasm") bytes; cargo output $(wc -c < "$raw") bytes"
echo "web/build.sh: $page $(wc -c < "$page") bytes (the .wasm inlined as base64)"
[ "$size" -le 1048576 ] || { echo "web/build.sh: the .wasm is over the 1 MB budget" >&2; exit 1; }
