#!/usr/bin/env bash
# Builds the EXPERIMENTAL Helm 4 Wasm plugin directory (plugin.yaml + plugin.wasm) into
# target/helm-wasm-plugin/vaultwire-wasm/ (build output, never committed). Install it with
# `helm plugin install target/helm-wasm-plugin/vaultwire-wasm`. The module is built by
# wasm/build.sh together with the page's (nothing to do when web/build.sh just ran).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bash wasm/build.sh
out=target/helm-wasm-plugin/vaultwire-wasm
rm -rf "$out" && mkdir -p "$out"
cp wasm/helm-plugin/plugin.yaml "$out/"
cp target/wasm32-unknown-unknown/release/vaultwire_helm_wasm.wasm "$out/plugin.wasm"
echo "$out: plugin.wasm $(wc -c < "$out/plugin.wasm") bytes"
