#!/usr/bin/env bash
# Builds the wasm workspace's two wasm32-unknown-unknown modules in ONE cargo invocation (one
# feature resolution, one build of the library for both), into the main target directory so
# that the host-side dependencies (proc macros, build scripts) are shared with the main crate:
#   target/wasm32-unknown-unknown/release/vaultwire_wasm.wasm       (web/build.sh: page, Node)
#   target/wasm32-unknown-unknown/release/vaultwire_helm_wasm.wasm  (wasm/helm-plugin/build.sh)
# web/build.sh and wasm/helm-plugin/build.sh both call it; the second call finds both fresh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
cd "$root/wasm"
CARGO_TARGET_DIR="$root/target" cargo build --locked --release -q \
  --target wasm32-unknown-unknown -p vaultwire-wasm -p vaultwire-helm-wasm
