#!/bin/sh
# Helm 4 post-renderer: runs the vaultwire binary on stdin with the args Helm appends from
# --post-renderer-args. Two things Helm 4 does that vaultwire must work around here:
#  - it drops a plugin's stderr and prints only "plugin exited with error", so vaultwire's message is
#    kept in a last-error file (and shown on the terminal when there is one);
#  - it refuses empty output, and a chart that renders nothing sends empty input.
set -u

# Where vaultwire's stderr of a failed run goes. `helm vaultwire` sets VAULTWIRE_LAST_ERROR to a
# file of its own, so parallel renders never read each other's message.
last_error_file() {
  echo "${VAULTWIRE_LAST_ERROR:-${XDG_STATE_HOME:-$HOME/.local/state}/vaultwire/last-error}"
}

# The binary: an explicit VAULTWIRE_BIN, the one the install hook linked, else vaultwire on PATH.
find_vaultwire() {
  for c in "${VAULTWIRE_BIN:-}" "${HELM_PLUGIN_DIR:-$(dirname "$0")}/bin/vaultwire"; do
    if [ -n "$c" ] && [ -x "$c" ]; then echo "$c"; return 0; fi
  done
  command -v vaultwire
}

# The terminal, when there is one: the only place Helm 4 cannot hide. VAULTWIRE_NO_TTY=1 (set by
# `helm vaultwire`, which prints the message itself) keeps it quiet.
to_tty() {
  [ "${VAULTWIRE_NO_TTY:-0}" = 1 ] && return 0
  { cat "$1" > /dev/tty; } 2>/dev/null || true
}

# Record a failure: atomically, so a reader never sees half a message.
save_error() {
  f=$(last_error_file)
  mkdir -p "$(dirname "$f")" 2>/dev/null && cat "$1" > "$f.$$" 2>/dev/null && mv -f "$f.$$" "$f"
  to_tty "$1"
  cat "$1" >&2 # Helm 3 and direct runs still show stderr
}

# A stream with nothing but white space: what Helm 4 sends for a chart that renders nothing.
is_blank() { ! grep -q '[^[:space:]]' "$1"; }

# What the empty stream becomes. Helm 4 fails on empty output ("produced empty output") but accepts
# a comment-only stream as zero manifests, which is what the chart rendered; a YAML comment also
# says why the stream is empty to anyone who reads it.
empty_stream() { echo '# vaultwire: the chart rendered no manifests; nothing to wire'; }

main() {
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/vaultwire-postrender.XXXXXX") || exit 1
  trap 'rm -rf "$tmp"' EXIT
  cat > "$tmp/in"
  if is_blank "$tmp/in"; then empty_stream; exit 0; fi
  if ! bin=$(find_vaultwire); then
    echo "vaultwire: binary not found: run the plugin's install.sh (helm plugin update vaultwire-post-renderer) or put vaultwire on PATH" > "$tmp/err"
    save_error "$tmp/err"
    exit 1
  fi
  "$bin" "$@" < "$tmp/in" > "$tmp/out" 2> "$tmp/err"
  rc=$?
  if [ "$rc" -ne 0 ]; then save_error "$tmp/err"; exit "$rc"; fi
  rm -f "$(last_error_file)" # the last run succeeded: no stale message to mislead
  [ -s "$tmp/err" ] && { to_tty "$tmp/err"; cat "$tmp/err" >&2; } # warnings, --explain
  if is_blank "$tmp/out"; then empty_stream; else cat "$tmp/out"; fi
}

main "$@"
