# Sourced by tests/fuzz/replay.sh (the gate's replay) and tests/fuzz.sh (the long fuzzer): the
# pinned cargo-fuzz, the one build both use, and the seeds.
#   fuzz_install        puts cargo-fuzz $CARGO_FUZZ_VERSION on PATH (installed once, tests/tools/env.sh)
#   fuzz_build LOG      `cargo fuzz build -s none` of every target (stable toolchain, no sanitizer)
#   fuzz_bin TARGET     the built binary of TARGET
#   fuzz_seeds DIR      seeds from the repository's examples/ into DIR/<target>/; with
#                       FUZZ_SHARED_SEEDS=1 also from ../shared/fixtures when it is there
# shellcheck source=../tools/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/../tools/env.sh"

CARGO_FUZZ_VERSION=0.13.2
FUZZ_TARGETS=(split_join transform)
FUZZ_DIR=$VAULTWIRE_ROOT/fuzz
FUZZ_TRIPLE=$(rustc -vV | sed -n 's/^host: //p')

fuzz_install() {
  local bin
  bin=$(cargo_tool cargo-fuzz "$CARGO_FUZZ_VERSION") || return 1
  PATH="$bin:$PATH"
}

fuzz_build() {
  (cd "$FUZZ_DIR" && cargo fuzz build -s none --target "$FUZZ_TRIPLE") >"$1" 2>&1 || return 1
  local t
  for t in "${FUZZ_TARGETS[@]}"; do
    [ -x "$(fuzz_bin "$t")" ] || { echo "no binary $(fuzz_bin "$t") after the build" >>"$1"; return 1; }
  done
}

fuzz_bin() { echo "$FUZZ_DIR/target/$FUZZ_TRIPLE/release/$1"; }

# Transform inputs are `CONFIG-YAML \0 STREAM` (fuzz/fuzz_targets/transform.rs).
fuzz_seeds() {
  local dir=$1 s c i=0
  rm -rf "$dir" && mkdir -p "$dir/split_join" "$dir/transform"
  local streams=("$VAULTWIRE_ROOT"/examples/*.helm4-stdin.yaml "$VAULTWIRE_ROOT"/examples/*.manifest.yaml)
  if [ "${FUZZ_SHARED_SEEDS:-0}" = 1 ] && [ -d "$VAULTWIRE_ROOT/../shared/fixtures" ]; then
    while IFS= read -r s; do streams+=("$s"); done < <(find "$VAULTWIRE_ROOT/../shared/fixtures" -name '*.yaml' -not -path '*/values/*' -not -name '*.values.yaml' | sort)
  fi
  for c in "$VAULTWIRE_ROOT"/examples/vaultwire-*.yaml; do
    cp "$c" "$dir/split_join/$(basename "$c")"
  done
  for s in "${streams[@]}"; do
    i=$((i + 1))
    cp "$s" "$dir/split_join/$i-$(basename "$s")"
    for c in "$VAULTWIRE_ROOT"/examples/vaultwire-*.yaml; do
      { cat "$c"; printf '\0'; cat "$s"; } >"$dir/transform/$i-$(basename "$c" .yaml)-$(basename "$s")"
    done
  done
}
