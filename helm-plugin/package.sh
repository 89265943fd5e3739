#!/usr/bin/env bash
# Release tarballs of the two Helm plugins, each holding its plugin directory and the vaultwire binary,
# so a Helm user needs no Rust:
#   bash helm-plugin/package.sh
#   -> target/dist/vaultwire-<version>.tgz                 helm vaultwire (Helm 3 and 4)
#      target/dist/vaultwire-post-renderer-<version>.tgz   the postrenderer/v1 plugin (Helm 4)
# Settings (environment):
#   VAULTWIRE_TARGETS   Rust targets to bundle, space-separated (default: x86_64-unknown-linux-musl).
#                       Also: aarch64-unknown-linux-musl, x86_64-apple-darwin, aarch64-apple-darwin,
#                       built with cargo-zigbuild and PyPI's ziglang (installed once into the cache).
#   VAULTWIRE_DIST      output directory (default: target/dist)
#   VAULTWIRE_SIGNING_KEY              sign with this GnuPG key (name, email or fingerprint): a .prov
#                                      lands next to each tarball (helm plugin package --sign)
#   VAULTWIRE_SIGNING_KEYRING          the secret keyring, legacy format, which is all Helm reads
#                                      (default: $GNUPGHOME/secring.gpg, else ~/.gnupg/secring.gpg;
#                                      make it with: gpg --export-secret-keys KEY > secring.gpg)
#   VAULTWIRE_SIGNING_PASSPHRASE_FILE  the key's passphrase, when it has one
#   VAULTWIRE_CRATE_CHECK=1  also `cargo package --locked` (the crate builds from what it ships) and
#                       `cargo install` of that packaged crate, as `cargo install vaultwire` would
#   VAULTWIRE_HELM4     the Helm 4 that packages (default: tests/tools/helm.sh v4.3.1, built once with Go)
#   VAULTWIRE_TOOL_CACHE  where tools are installed once (default: ~/.cache/vaultwire)
# Each target is a full release compile (about 4 minutes on 2 cores); a second run reuses it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
caller=$PWD
cd "$root"

ZIGBUILD_VERSION=0.24.1 # crates.io cargo-zigbuild
ZIG_VERSION=0.17.1      # PyPI ziglang
PROFILE=tarball         # Cargo.toml: release, stripped
PLUGINS=(cli postrenderer)
cache=${VAULTWIRE_TOOL_CACHE:-$HOME/.cache/vaultwire}
read -r -a targets <<< "${VAULTWIRE_TARGETS:-x86_64-unknown-linux-musl}"

die() { echo "package.sh: $*" >&2; exit 1; }

# A path the caller gave, relative to where they ran this script (it runs in the repository root).
from_caller() { case $1 in /*) echo "$1" ;; *) echo "$caller/$1" ;; esac; }

# The crate's version, which both plugin.yaml files must carry: a tarball is named after its plugin.yaml.
version() {
  local v p pv
  v=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
  [ -n "$v" ] || die "no version in Cargo.toml"
  for p in "${PLUGINS[@]}"; do
    pv=$(sed -n 's/^version: *//p' "helm-plugin/$p/plugin.yaml")
    [ "$pv" = "$v" ] || die "helm-plugin/$p/plugin.yaml has version '$pv', Cargo.toml has '$v': make them equal"
  done
  echo "$v"
}

name_of() { sed -n 's/^name: *//p' "helm-plugin/$1/plugin.yaml"; }

# Helm's GOOS-GOARCH name for a Rust target: the directory the install hook looks in.
platform() {
  case $1 in
    x86_64-unknown-linux-musl) echo linux-amd64 ;;
    aarch64-unknown-linux-musl) echo linux-arm64 ;;
    x86_64-apple-darwin) echo darwin-amd64 ;;
    aarch64-apple-darwin) echo darwin-arm64 ;;
    *) die "unsupported target '$1' (x86_64-unknown-linux-musl, aarch64-unknown-linux-musl, x86_64-apple-darwin, aarch64-apple-darwin)" ;;
  esac
}

rust_target() {
  rustup target list --installed | grep -qx "$1" || rustup target add "$1" >&2
}

# ring (rustls, for `vaultwire check`) compiles C: the musl target needs a musl C compiler.
musl_cc() {
  command -v x86_64-linux-musl-gcc >/dev/null && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "package.sh: installing Debian's musl-tools (a C compiler for the musl target)" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq musl-tools; } >/dev/null
  fi
  command -v x86_64-linux-musl-gcc >/dev/null || die "no x86_64-linux-musl-gcc: install musl-tools (Debian, Ubuntu) or musl-gcc"
}

# cargo-zigbuild from crates.io and zig from PyPI, each installed once into a directory named after
# its version; later runs install nothing.
zig_tools() {
  local zb=$cache/cargo-zigbuild-$ZIGBUILD_VERSION zig=$cache/ziglang-$ZIG_VERSION
  if [ ! -x "$zb/bin/cargo-zigbuild" ]; then
    echo "package.sh: installing cargo-zigbuild $ZIGBUILD_VERSION into $zb (once)" >&2
    cargo install --locked --quiet "cargo-zigbuild@$ZIGBUILD_VERSION" --root "$zb" >&2
  fi
  if [ ! -x "$zig/ziglang/zig" ]; then
    echo "package.sh: installing ziglang $ZIG_VERSION into $zig (once)" >&2
    python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore \
      --target "$zig" "ziglang==$ZIG_VERSION" >&2
  fi
  export PATH="$zb/bin:$PATH" CARGO_ZIGBUILD_ZIG_PATH="$zig/ziglang/zig" PYTHONPATH="$zig${PYTHONPATH:+:$PYTHONPATH}"
}

# Builds one target; prints the binary's path. Cargo does nothing when it is up to date.
build() {
  local t=$1
  rust_target "$t"
  if [ "$t" = x86_64-unknown-linux-musl ]; then
    musl_cc
    cargo build --locked --profile "$PROFILE" --target "$t" >&2
  else
    zig_tools
    # zig would stamp its own newest macOS as the minimum (15.0): ask for Apple Silicon's first, 11.0
    MACOSX_DEPLOYMENT_TARGET=${MACOSX_DEPLOYMENT_TARGET:-11.0} cargo zigbuild --locked --profile "$PROFILE" --target "$t" >&2
  fi
  echo "target/$t/$PROFILE/vaultwire"
}

# A Linux binary must not need a libc at run time: the tarball has to work on any distribution.
check_binary() {
  local bin=$1 t=$2 kind
  kind=$(file -b "$bin")
  case $t in
    *-linux-*)
      case $kind in
        *"statically linked"* | *"static-pie linked"*) ;;
        *) die "$bin is not statically linked: $kind" ;;
      esac ;;
    *-apple-*)
      case $kind in Mach-O*) ;; *) die "$bin is not a Mach-O binary: $kind" ;; esac ;;
  esac
  echo "package.sh: $t: $kind" >&2
}

# The plugin directory as it will be installed: plugin.yaml, scripts/ as real files (in the repository
# it is a symlink to ../scripts, and Helm's packager would store the link, which its installer then
# refuses), the binaries under bin/<os>-<arch>/ and the LICENSE. Modes and times are normalized, so
# the same inputs give the same tarball.
stage() {
  local p=$1 dir=$2 t
  mkdir -p "$dir/scripts"
  cp "helm-plugin/$p/plugin.yaml" LICENSE "$dir/"
  cp -L helm-plugin/scripts/*.sh "$dir/scripts/"
  for t in "${targets[@]}"; do
    mkdir -p "$dir/bin/$(platform "$t")"
    cp "${binary[$t]}" "$dir/bin/$(platform "$t")/vaultwire"
  done
  find "$dir" -type d -exec chmod 0755 {} +
  find "$dir" -type f -exec chmod 0644 {} +
  chmod 0755 "$dir"/scripts/*.sh "$dir"/bin/*/vaultwire
  find "$dir" -exec touch -h -d "@$epoch" {} +
  if find "$dir" -type l | grep -q .; then die "a symlink was staged in $dir"; fi
}

# helm plugin package's flags, into the array `flags`.
sign_flags() {
  local keyring
  if [ -z "${VAULTWIRE_SIGNING_KEY:-}" ]; then
    flags=(--sign=false)
    return
  fi
  # Helm's own default keyring is the public one (pubring.gpg), which holds no secret key.
  keyring=$(from_caller "${VAULTWIRE_SIGNING_KEYRING:-${GNUPGHOME:-$HOME/.gnupg}/secring.gpg}")
  [ -f "$keyring" ] || die "no secret keyring $keyring: gpg --export-secret-keys '$VAULTWIRE_SIGNING_KEY' > $keyring (or set VAULTWIRE_SIGNING_KEYRING)"
  flags=(--sign --key "$VAULTWIRE_SIGNING_KEY" --keyring "$keyring")
  [ -z "${VAULTWIRE_SIGNING_PASSPHRASE_FILE:-}" ] || flags+=(--passphrase-file "$(from_caller "$VAULTWIRE_SIGNING_PASSPHRASE_FILE")")
}

package() {
  local p=$1 name tgz out flags
  name=$(name_of "$p")
  tgz=$dist/$name-$ver.tgz
  stage "$p" "$work/$name"
  rm -f "$tgz" "$tgz.prov" # never leave an old signature beside a new tarball
  sign_flags
  out=$("$helm" plugin package "$work/$name" -d "$dist" "${flags[@]}" 2>&1) || die "helm plugin package $name failed: $out"
  [ -f "$tgz" ] || die "helm plugin package wrote no $tgz: $out"
  artifacts+=("$tgz")
  if [ -n "${VAULTWIRE_SIGNING_KEY:-}" ]; then
    [ -f "$tgz.prov" ] || die "helm plugin package wrote no $tgz.prov: $out"
    artifacts+=("$tgz.prov")
  fi
}

# The crates.io side (optional: two more compiles): the packaged crate must build from its own
# files, with the locked dependencies, and install.
crate_check() {
  local into
  cargo package --locked >&2
  into=$work/cargo-install
  cargo install --locked --quiet --path "target/package/vaultwire-$ver" --root "$into" --target-dir target/crate-check >&2
  [ "$("$into/bin/vaultwire" --version)" = "vaultwire $ver" ] || die "the crate installed from target/package does not say 'vaultwire $ver'"
  echo "package.sh: cargo package and cargo install of target/package/vaultwire-$ver.crate: ok" >&2
}

report() {
  local f
  for f in "${artifacts[@]}"; do
    printf '%s  %s bytes  sha256 %s\n' "${f#"$root"/}" "$(stat -c %s "$f")" "$(sha256sum "$f" | cut -d' ' -f1)"
  done
}

ver=$(version) || exit 1
[ "${#targets[@]}" -gt 0 ] || die "VAULTWIRE_TARGETS is empty"
dist=$(from_caller "${VAULTWIRE_DIST:-$root/target/dist}")
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
helm=${VAULTWIRE_HELM4:-$(bash tests/tools/helm.sh v4.3.1)}
[[ $("$helm" version --template '{{.Version}}') == v4.* ]] || die "$helm is not Helm 4 (helm plugin package is new in Helm 4)"
declare -A binary
artifacts=()
for t in "${targets[@]}"; do
  platform "$t" >/dev/null
  binary[$t]=$(build "$t") || exit 1
  check_binary "${binary[$t]}" "$t"
done
mkdir -p "$dist"
work=$(mktemp -d "${TMPDIR:-/tmp}/vaultwire-package.XXXXXX")
trap 'rm -rf "$work"' EXIT
for p in "${PLUGINS[@]}"; do package "$p"; done
[ "${VAULTWIRE_CRATE_CHECK:-0}" != 1 ] || crate_check
report
