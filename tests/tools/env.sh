# Sourced by tests/run.sh and by every suite's run.sh: the tools the tests use, each installed once
# outside the repository, under $VAULTWIRE_TOOL_CACHE (default ~/.cache/vaultwire), in a directory
# named after its version, so a warm machine installs nothing and every clone reuses them.
#   python3, pytest, bao ...  a virtual environment of tests/requirements.txt (venv-<hash>), put first on PATH
#   node_tools                npm packages pinned below (node-<hash>/node_modules)
#   cargo_tool NAME VERSION   `cargo install --locked NAME@VERSION` (unlocked if that fails) into NAME-VERSION/, prints its bin dir
#   release_binary            builds target/release/vaultwire (cargo: nothing to do when fresh), prints its path
#   need_shared               ../shared/fixtures, or: absent and CI=true -> exit 1, absent else -> return 1
# Every install step fails the run when it fails; none counts as a test.
VAULTWIRE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VAULTWIRE_TOOL_CACHE=${VAULTWIRE_TOOL_CACHE:-$HOME/.cache/vaultwire}
export VAULTWIRE_ROOT VAULTWIRE_TOOL_CACHE
mkdir -p "$VAULTWIRE_TOOL_CACHE"

# The npm packages: binaryen (wasm-opt) and esbuild for web/build.sh, playwright-core for the browser test.
VAULTWIRE_NODE_PACKAGES="binaryen@132.0.0 esbuild@0.28.2 playwright-core@1.65.1"

_vw_hash() { sha256sum | cut -c1-12; }

# _vw_install_into DIR CMD...: runs `CMD... DIR` unless DIR holds a finished install (its
# .installed mark, written last, so an interrupted install is redone rather than trusted).
_vw_install_into() {
  local dir=$1
  shift
  [ -e "$dir/.installed" ] && return 0
  rm -rf "$dir" && mkdir -p "$dir"
  if "$@" "$dir"; then
    touch "$dir/.installed"
  else
    echo "tests/tools/env.sh: installing $(basename "$dir") failed" >&2
    return 1
  fi
}

_vw_venv() {
  python3 -m venv "$1" &&
    "$1/bin/python" -m pip install -q --disable-pip-version-check -r "$VAULTWIRE_ROOT/tests/requirements.txt" >&2
}

python_env() {
  local dir
  dir="$VAULTWIRE_TOOL_CACHE/venv-$(_vw_hash < "$VAULTWIRE_ROOT/tests/requirements.txt")"
  case ":$PATH:" in *":$dir/bin:"*) return 0 ;; esac
  [ -e "$dir/.installed" ] || echo "installing tests/requirements.txt into $dir (once)" >&2
  _vw_install_into "$dir" _vw_venv || return 1
  export VIRTUAL_ENV=$dir PATH="$dir/bin:$PATH"
}

_vw_npm() { npm install --prefix "$1" --no-audit --no-fund --silent --save-exact $VAULTWIRE_NODE_PACKAGES >&2; }

# Prints the node_modules directory holding VAULTWIRE_NODE_PACKAGES.
node_tools() {
  local dir
  dir="$VAULTWIRE_TOOL_CACHE/node-$(echo "$VAULTWIRE_NODE_PACKAGES" | _vw_hash)"
  [ -e "$dir/.installed" ] || echo "installing $VAULTWIRE_NODE_PACKAGES into $dir (once)" >&2
  _vw_install_into "$dir" _vw_npm || return 1
  echo "$dir/node_modules"
}

# --locked first (the crate's own Cargo.lock). If that fails (e.g. a registry mirror that lacks a
# version the lock names: wasm-bindgen-cli 0.2.130 locks webpki-roots 1.0.11), once more without
# it: NAME stays exactly VERSION, its dependencies are the newest compatible ones.
# _vw_cargo_install NAME VERSION [ARGS...] ROOT
_vw_cargo_install() {
  local name=$1 version=$2 root=${!#} args=("${@:3:$#-3}")
  cargo install --locked --quiet --root "$root" "${args[@]}" "$name@$version" >&2 && return 0
  echo "tests/tools/env.sh: cargo install --locked $name@$version failed; retrying without --locked" >&2
  cargo install --quiet --root "$root" "${args[@]}" "$name@$version" >&2
}

# cargo_tool NAME VERSION [CARGO-INSTALL-ARGS...]: prints the bin directory of crate NAME at VERSION,
# installed once (the arguments, e.g. `--no-default-features --bin X`, are part of the cache key).
cargo_tool() {
  local dir="$VAULTWIRE_TOOL_CACHE/$1-$2"
  [ "$#" -gt 2 ] && dir="$dir-$(echo "${@:3}" | _vw_hash)"
  [ -e "$dir/.installed" ] || echo "installing $1 $2 ${*:3} into $dir (cargo install, once)" >&2
  _vw_install_into "$dir" _vw_cargo_install "$@" || return 1
  echo "$dir/bin"
}

# Always through cargo, never "if it exists": a suite run alone after an edit must not test a stale binary.
release_binary() {
  cargo build --locked --release -q --manifest-path "$VAULTWIRE_ROOT/Cargo.toml" >&2 &&
    echo "$VAULTWIRE_ROOT/target/release/vaultwire"
}

need_shared() {
  [ -d "$VAULTWIRE_ROOT/../shared/fixtures" ] && return 0
  if [ "${CI:-}" = true ]; then
    echo "../shared/fixtures does not exist, and CI=true: CI always has it, so the run stops here" >&2
    exit 1
  fi
  echo "note: ../shared/fixtures does not exist here; the tests over it do not run" >&2
  return 1
}
