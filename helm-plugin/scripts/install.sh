#!/bin/sh
# Install hook (helm plugin install / update): leave a working vaultwire at $HELM_PLUGIN_DIR/bin/vaultwire.
# The first of these that gives a binary that runs wins:
#   1. the binary bundled for this OS and architecture    (bin/<os>-<arch>/vaultwire, from a release tarball)
#   2. vaultwire on PATH
#   3. the plugin sits inside a vaultwire checkout        -> cargo build --release
#   4. none of these                                      -> say exactly what to do, fail
# One copy of this file lives in helm-plugin/scripts; package.sh copies it into each plugin.
set -eu

plugin_dir() {
  # -P: `helm plugin install ./dir` symlinks the directory; the checkout is where the link points.
  cd -P "${HELM_PLUGIN_DIR:-$(dirname "$0")/..}" && pwd
}

works() { [ -f "$1" ] && [ -x "$1" ] && "$1" --version >/dev/null 2>&1; }

# Helm's own names for the platform (GOOS-GOARCH), which the release tarballs use.
platform() {
  case $(uname -s) in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) os=$(uname -s | tr '[:upper:]' '[:lower:]') ;;
  esac
  case $(uname -m) in
    x86_64 | amd64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) arch=$(uname -m) ;;
  esac
  echo "$os-$arch"
}

# $1: the binary; $2: what to call it in the message. A relative link for a bundled binary, so the
# plugin directory can be copied; an absolute one otherwise.
link_binary() {
  mkdir -p "$DIR/bin"
  rm -f "$DIR/bin/vaultwire"
  ln -s "$1" "$DIR/bin/vaultwire"
  echo "vaultwire: using $2 ($("$DIR/bin/vaultwire" --version))"
}

already_installed() {
  [ "$UPDATE" = 0 ] && works "$DIR/bin/vaultwire" && echo "vaultwire: already installed: $DIR/bin/vaultwire"
}

bundled() {
  p=$(platform)
  works "$DIR/bin/$p/vaultwire" || return 1
  link_binary "$p/vaultwire" "the bundled $p binary"
}

from_path() {
  found=$(command -v vaultwire 2>/dev/null) || return 1
  works "$found" && link_binary "$found" "$found"
}

# The repository root two levels up, if it is vaultwire's (helm-plugin/<dir> inside the checkout).
checkout_root() {
  root=$(cd "$DIR/../.." && pwd)
  grep -q '^name = "vaultwire"' "$root/Cargo.toml" 2>/dev/null && echo "$root"
}

from_checkout() {
  root=$(checkout_root) || return 1
  command -v cargo >/dev/null 2>&1 || return 1
  echo "vaultwire: building from $root (cargo build --release; fast when already built)"
  (cd "$root" && cargo build --release) >&2
  works "$root/target/release/vaultwire" && link_binary "$root/target/release/vaultwire" "$root/target/release/vaultwire"
}

explain_what_to_do() {
  cat >&2 <<MSG
vaultwire: no vaultwire binary for $(platform) here, none on PATH, and no checkout to build from. Do one of:
  - install the release tarball built for $(platform) (it bundles the binary), or
  - put a vaultwire binary on PATH (cargo install vaultwire), or
  - install the plugin from a vaultwire checkout with Rust installed (https://rustup.rs)
then run: helm plugin update ${HELM_PLUGIN_NAME:-<plugin name>}   (or: sh $DIR/scripts/install.sh)
MSG
  return 1
}

DIR=$(plugin_dir)
UPDATE=0; [ "${1:-}" = "--update" ] && UPDATE=1
already_installed || bundled || from_path || from_checkout || explain_what_to_do
