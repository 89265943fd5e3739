#!/usr/bin/env bash
# Builds the browser preview as one self-contained file, web/dist/vaultwire-preview.html (never
# committed; esbuild bundles web/app.js with the wasm-bindgen glue, the optimized .wasm and the
# example, and web/inline.mjs puts that bundle and the style inline, under a
# Content-Security-Policy), and the Node build of the same module into target/wasm-out/nodejs/
# (for tests/wasm and bench). Installs what it needs when missing: the
# wasm32 target, wasm-bindgen-cli at exactly the version wasm/Cargo.toml pins, and npm's
# binaryen (wasm-opt) and esbuild under target/wasm-node/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=target/wasm-out
dist=web/dist
tools=target/wasm-node
pin=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' wasm/Cargo.toml)
binaryen=132.0.0
esbuild=0.28.2

rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
if [ "$(wasm-bindgen --version 2>/dev/null | cut -d' ' -f2)" != "$pin" ]; then
  cargo install wasm-bindgen-cli --version "$pin"
fi
[ -x "$tools/node_modules/binaryen/bin/wasm-opt" ] ||
  npm install --prefix "$tools" --no-audit --no-fund --silent "binaryen@$binaryen"
[ "$(node -p "require('./$tools/node_modules/esbuild/package.json').version" 2>/dev/null)" = "$esbuild" ] ||
  npm install --prefix "$tools" --no-audit --no-fund --silent --save-exact "esbuild@$esbuild"

(cd wasm && CARGO_TARGET_DIR="$root/target/wasm" cargo build --locked --release -q \
  --target wasm32-unknown-unknown -p vaultwire-wasm)
raw=target/wasm/wasm32-unknown-unknown/release/vaultwire_wasm.wasm
rm -rf "$out" "$dist"
for t in web nodejs; do
  wasm-bindgen --target "$t" --no-typescript --out-dir "$out/$t" "$raw"
done
# The two targets differ only in their JS glue; optimize the module once and use it in both.
cmp -s "$out/web/vaultwire_wasm_bg.wasm" "$out/nodejs/vaultwire_wasm_bg.wasm"
bound=$(wc -c < "$out/web/vaultwire_wasm_bg.wasm")
node "$tools/node_modules/binaryen/bin/wasm-opt" -Oz --strip-debug --strip-producers \
  --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  "$out/web/vaultwire_wasm_bg.wasm" -o "$out/opt.wasm"
cp "$out/opt.wasm" "$out/web/vaultwire_wasm_bg.wasm"
cp "$out/opt.wasm" "$out/nodejs/vaultwire_wasm_bg.wasm"

# The page's one script: app.js with everything it imports. `vaultwire-wasm/` is the web build
# above; the .wasm (the optimized one) is embedded as base64 and decoded to bytes, and the example
# stream as text, so that "Load the example chart" needs no request. ESM, as the inline
# <script type="module"> it becomes; a target older than esnext, so that the .wasm is decoded by
# esbuild's own helper where a browser lacks Uint8Array.fromBase64.
mkdir -p "$dist"
page=$dist/vaultwire-preview.html
"$tools/node_modules/.bin/esbuild" web/app.js --bundle --format=esm --target=es2022 \
  --alias:vaultwire-wasm="./$out/web" --loader:.wasm=binary --loader:.yaml=text \
  --log-level=warning --outfile="$out/page.js"
node web/inline.mjs "$page" web "$out/page.js"

size=$(wc -c < "$out/opt.wasm")
echo "web/build.sh: vaultwire_wasm_bg.wasm $size bytes optimized (budget 1048576); wasm-bindgen output $bound bytes; cargo output $(wc -c < "$raw") bytes"
echo "web/build.sh: $page $(wc -c < "$page") bytes (the .wasm inlined as base64)"
[ "$size" -le 1048576 ] || { echo "web/build.sh: the .wasm is over the 1 MB budget" >&2; exit 1; }
