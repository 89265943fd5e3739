#!/usr/bin/env bash
# Builds the EXPERIMENTAL Helm 4 Wasm plugin directory (plugin.yaml + plugin.wasm) into
# target/helm-wasm-plugin/vaultwire-wasm/ (build output, never committed). Install it with
# `helm plugin install target/helm-wasm-plugin/vaultwire-wasm`.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
(cd wasm && CARGO_TARGET_DIR="$root/target/wasm" cargo build --locked --release -q \
  --target wasm32-unknown-unknown -p vaultwire-helm-wasm)
out=target/helm-wasm-plugin/vaultwire-wasm
rm -rf "$out" && mkdir -p "$out"
cp wasm/helm-plugin/plugin.yaml "$out/"
cp target/wasm/wasm32-unknown-unknown/release/vaultwire_helm_wasm.wasm "$out/plugin.wasm"
echo "$out: plugin.wasm $(wc -c < "$out/plugin.wasm") bytes"
