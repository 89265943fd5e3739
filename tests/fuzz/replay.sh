#!/usr/bin/env bash
# Fuzz replay, for the gate: builds both cargo-fuzz targets once (tests/fuzz/lib.sh: the pinned
# cargo-fuzz, `cargo fuzz build -s none`, stable toolchain) and runs each target's binary over
# its committed inputs, fuzz/corpus/<target>/ and fuzz/regressions/<target>/, each input exactly
# once (libFuzzer `-runs=0` with the files as arguments: no mutation, deterministic). Needs no
# ../shared. Run: bash tests/fuzz/replay.sh
# Prints per target how many inputs it replayed, then `fuzz-replay: N inputs, M failed`, naming
# every failing input; exits non-zero on any failure. A failed install or build stops the run
# (exit 1) and is never counted as a test. Long fuzzing is tests/fuzz.sh, outside the gate.
set -uo pipefail
cd "$(dirname "$0")/../.."
source tests/fuzz/lib.sh

if ! fuzz_install; then
  echo "fuzz-replay: cannot install cargo-fuzz $CARGO_FUZZ_VERSION"
  exit 1
fi
mkdir -p fuzz/target
build_log=fuzz/target/build.log
if ! fuzz_build "$build_log"; then
  tail -20 "$build_log"
  echo "fuzz-replay: build failed (see $build_log)"
  exit 1
fi
if [ -e .git ] && ! git diff --quiet -- fuzz/Cargo.lock 2>/dev/null; then
  echo "fuzz-replay: note: the build changed fuzz/Cargo.lock; commit it"
fi

total=0
failed=0
artifacts=fuzz/target/replay-artifacts
for t in "${FUZZ_TARGETS[@]}"; do
  files=()
  for d in "fuzz/corpus/$t" "fuzz/regressions/$t"; do
    [ -d "$d" ] || continue
    while IFS= read -r f; do files+=("$f"); done < <(find "$d" -type f ! -name '.*' | sort)
  done
  n=${#files[@]}
  if [ "$n" -eq 0 ]; then
    echo "fuzz-replay: $t: FAILED: no inputs in fuzz/corpus/$t or fuzz/regressions/$t"
    failed=$((failed + 1))
    continue
  fi
  bin=$(fuzz_bin "$t")
  log=fuzz/target/replay-$t.log
  rm -rf "$artifacts/$t" && mkdir -p "$artifacts/$t"
  : >"$log"
  ran=0
  bad_here=0
  i=0
  # One process for all of a target's inputs; when one fails, the process stops there: name it
  # (libFuzzer's last `Running:` line) and go on with the inputs after it.
  while [ "$i" -lt "$n" ]; do
    part=fuzz/target/replay-$t.part.log
    if "$bin" -runs=0 -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$artifacts/$t/" \
        "${files[@]:i}" >"$part" 2>&1; then
      ran=$((ran + $(grep -c '^Executed ' "$part")))
      cat "$part" >>"$log"
      break
    fi
    cat "$part" >>"$log"
    ran=$((ran + $(grep -c '^Executed ' "$part")))
    bad=$(grep '^Running: ' "$part" | tail -1 | sed 's/^Running: //')
    j=$i
    while [ "$j" -lt "$n" ] && [ "${files[$j]}" != "$bad" ]; do j=$((j + 1)); done
    if [ -z "$bad" ] || [ "$j" -ge "$n" ]; then
      echo "fuzz-replay: $t: FAILED before running an input (see $log)"
      grep -m3 -E 'panicked|ERROR|SUMMARY' "$part" | cut -c1-300 | sed 's/^/  /'
      bad_here=$((bad_here + n - i))
      ran=$((ran + n - i))
      break
    fi
    echo "fuzz-replay: $t: FAILED $bad"
    # the panic's place and the first line of its message: never a whole stream
    grep -m1 -A1 'panicked at' "$part" | cut -c1-300 | sed 's/^/  /'
    grep -q 'panicked at' "$part" || grep -m2 -E 'ERROR|SUMMARY' "$part" | cut -c1-300 | sed 's/^/  /'
    bad_here=$((bad_here + 1))
    ran=$((ran + 1))
    i=$((j + 1))
  done
  if [ "$ran" -ne "$n" ]; then
    echo "fuzz-replay: $t: FAILED: $ran of $n inputs ran (see $log)"
    bad_here=$((bad_here + n - ran))
    ran=$n
  fi
  echo "fuzz-replay: $t: replayed $ran of $n inputs, $bad_here failed"
  total=$((total + ran))
  failed=$((failed + bad_here))
done
echo "fuzz-replay: $total inputs, $failed failed"
[ "$failed" -eq 0 ]
