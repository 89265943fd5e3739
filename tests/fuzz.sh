#!/usr/bin/env bash
# The long fuzzer, outside the gate (the gate replays the committed inputs: tests/fuzz/replay.sh).
#
# Run:    bash tests/fuzz.sh                     each target FUZZ_SECONDS (default 300) in turn
#         FUZZ_SECONDS=3600 bash tests/fuzz.sh   longer
#         FUZZ_TARGETS_ONLY=transform bash tests/fuzz.sh
# It builds the targets of fuzz/ with the pinned cargo-fuzz (tests/fuzz/lib.sh: `cargo fuzz build
# -s none`, stable toolchain, no sanitizer; the same build the replay uses) and fuzzes each one
# from the committed corpus fuzz/corpus/<target>/, the regressions fuzz/regressions/<target>/ and
# seeds made from examples/ and, when it exists, ../shared/fixtures (transform inputs are
# `CONFIG-YAML \0 STREAM`). New inputs go to fuzz/target/corpus/<target>/ (ignored): the
# committed corpus only changes when you refresh it on purpose (below).
#
# A crash leaves its input in fuzz/artifacts/<target>/crash-<sha1> (ignored) and the log in
# fuzz/target/<target>.log. To promote it to a regression the gate replays:
#   1. source tests/fuzz/lib.sh && fuzz_install && cd fuzz
#   2. cargo fuzz tmin -s none <target> artifacts/<target>/crash-<sha1>   (minimizes; the result is
#      artifacts/<target>/minimized-from-<sha1>)
#   3. check that it holds no secret and is not a copy of a ../shared fixture; copy it to
#      fuzz/regressions/<target>/<short-name> (a name saying what it broke)
#   4. fix the bug with a test of its own (tests/it/), then `bash tests/fuzz/replay.sh` passes; commit
# To refresh the committed corpus (small: about 0.5 MB; made from the repository's own files
# only, never from ../shared, whose renders are not to be copied into the project):
#   source tests/fuzz/lib.sh && fuzz_install && fuzz_seeds fuzz/target/seeds && cd fuzz
#   cargo fuzz run -s none <target> corpus/<target> target/seeds/<target> -- -max_total_time=300 -max_len=3000
#   cargo fuzz cmin -s none <target> corpus/<target> -- -set_cover_merge=1 -use_counters=0
# (edges only, a greedy set cover: plain `cmin` keeps every hit-count variant, megabytes.)
set -uo pipefail
cd "$(dirname "$0")/.."
source tests/fuzz/lib.sh
seconds="${FUZZ_SECONDS:-300}"
passed=0
failed=0

if ! fuzz_install; then
  echo "fuzz: cannot install cargo-fuzz $CARGO_FUZZ_VERSION"
  exit 1
fi
mkdir -p fuzz/target
if ! fuzz_build fuzz/target/build.log; then
  tail -20 fuzz/target/build.log
  echo "fuzz: build failed (see fuzz/target/build.log)"
  exit 1
fi

FUZZ_SHARED_SEEDS=1 fuzz_seeds fuzz/target/seeds
read -r -a targets <<<"${FUZZ_TARGETS_ONLY:-${FUZZ_TARGETS[*]}}"
for t in "${targets[@]}"; do
  mkdir -p "fuzz/target/corpus/$t" "fuzz/artifacts/$t"
  dirs=("target/corpus/$t" "target/seeds/$t")
  for d in "corpus/$t" "regressions/$t"; do
    [ -d "fuzz/$d" ] && dirs+=("$d")
  done
  log="fuzz/target/$t.log"
  if (cd fuzz && "$(fuzz_bin "$t")" "${dirs[@]}" -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -max_len=65536 -artifact_prefix="artifacts/$t/" >"../$log" 2>&1); then
    echo "fuzz $t: ok, $(grep -o 'Done [0-9]* runs' "$log" | tail -1)"
    passed=$((passed + 1))
  else
    echo "fuzz $t: FAILED (see $log and fuzz/artifacts/$t/)"
    grep -m1 -A1 'panicked at' "$log" | cut -c1-300
    grep -m3 -E 'ERROR|SUMMARY|Test unit written' "$log" | cut -c1-300
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
