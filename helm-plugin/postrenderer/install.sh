#!/bin/sh
# Install hook (helm plugin install / update): leave a working vaultwire at $HELM_PLUGIN_DIR/bin/vaultwire.
# One step per function, each skipped when its work is done:
#   1. a working bin/vaultwire is already there          -> nothing to do (unless --update)
#   2. vaultwire is on PATH                              -> link it
#   3. the plugin sits inside a vaultwire checkout       -> cargo build --release, link the result
#   4. none of these                                     -> say exactly what to do, fail
# The same file ships in helm-plugin/cli and helm-plugin/postrenderer (each plugin directory must
# stand alone once packaged); tests/helm checks the two copies are identical.
set -eu

plugin_dir() {
  # -P: `helm plugin install ./dir` symlinks the directory; the checkout is where the link points.
  cd -P "${HELM_PLUGIN_DIR:-$(dirname "$0")}" && pwd
}

works() { [ -x "$1" ] && "$1" --version >/dev/null 2>&1; }

link_binary() {
  mkdir -p "$DIR/bin"
  ln -sf "$1" "$DIR/bin/vaultwire"
  echo "vaultwire: using $1 ($("$1" --version))"
}

already_installed() {
  [ "$UPDATE" = 0 ] && works "$DIR/bin/vaultwire" && echo "vaultwire: already installed: $DIR/bin/vaultwire"
}

from_path() {
  found=$(command -v vaultwire 2>/dev/null) || return 1
  works "$found" && link_binary "$found"
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
  works "$root/target/release/vaultwire" && link_binary "$root/target/release/vaultwire"
}

explain_what_to_do() {
  root=$(checkout_root) || root='<your vaultwire checkout>'
  cat >&2 <<MSG
vaultwire: no vaultwire binary found, and none could be built here. Do one of:
  - install Rust (https://rustup.rs), then: cd $root && cargo build --release
  - or put a vaultwire binary on PATH (cargo install --path $root)
then run this step again: sh $DIR/install.sh
MSG
  return 1
}

DIR=$(plugin_dir)
UPDATE=0; [ "${1:-}" = "--update" ] && UPDATE=1
already_installed || from_path || from_checkout || explain_what_to_do
