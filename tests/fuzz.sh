#!/usr/bin/env bash
# Short fuzz run: builds the cargo-fuzz targets of fuzz/ (stable toolchain, `-s none`: no
# sanitizer) and runs each for FUZZ_SECONDS (default 30), seeded from examples/ and, when it
# exists, ../shared/fixtures. A crash leaves its input in fuzz/artifacts/<target>/.
# Longer: FUZZ_SECONDS=600 bash tests/fuzz.sh
set -uo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-30}"
passed=0
failed=0

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz >/dev/null 2>&1 || { echo "fuzz: cannot install cargo-fuzz"; echo "0 passed, 1 failed"; exit 1; }
fi

# Seeds: every stream we have for the splitter; config NUL stream for the transform.
seeds=fuzz/target/seeds
rm -rf "$seeds" && mkdir -p "$seeds/split_join" "$seeds/transform"
streams=(examples/*.helm4-stdin.yaml examples/*.manifest.yaml)
if [ -d ../shared/fixtures ]; then
  while IFS= read -r f; do streams+=("$f"); done < <(find ../shared/fixtures -name '*.yaml' -not -path '*/values/*' | sort)
fi
i=0
for s in "${streams[@]}"; do
  i=$((i + 1))
  cp "$s" "$seeds/split_join/$i.yaml"
  for c in examples/vaultwire-*.yaml; do
    { cat "$c"; printf '\0'; cat "$s"; } > "$seeds/transform/$i-$(basename "$c")"
  done
done

if ! (cd fuzz && cargo fuzz build -s none >/dev/null 2>../fuzz/target/build.log); then
  cat fuzz/target/build.log 2>/dev/null | tail -20
  echo "fuzz: build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

for t in split_join transform; do
  mkdir -p "fuzz/corpus/$t"
  log="fuzz/target/$t.log"
  if (cd fuzz && cargo fuzz run -s none "$t" "corpus/$t" "target/seeds/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 >"../$log" 2>&1); then
    echo "fuzz $t: ok, $(grep -o 'Done [0-9]* runs' "$log" | tail -1)"
    passed=$((passed + 1))
  else
    echo "fuzz $t: FAILED (see $log and fuzz/artifacts/$t/)"
    grep -m5 -E 'panicked|ERROR|SUMMARY' "$log"
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
