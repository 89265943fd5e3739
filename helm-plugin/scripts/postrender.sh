#!/bin/sh
# Helm 4 post-renderer: runs the vaultwire binary on stdin with the args Helm appends from
# --post-renderer-args. Two things Helm 4 does that vaultwire must work around here:
#  - it drops a plugin's stderr and prints only "plugin exited with error", so vaultwire's message is
#    kept in a last-error file (and shown on the terminal when there is one);
#  - it refuses empty output, and a chart that renders nothing sends empty input.
# Any failure to find or run vaultwire exits non-zero, so Helm fails too.
set -u
umask 077

# The directory of the last-error file: VAULTWIRE_LAST_ERROR_DIR (`helm vaultwire` makes a private
# one per run, so parallel renders never read each other's message), else vaultwire's state dir.
last_error_dir() {
  echo "${VAULTWIRE_LAST_ERROR_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/vaultwire}"
}

# A directory only we can enter: a real directory (not a symlink), ours, mode 0700. Created so
# when missing; anything else is refused, because another user could plant or read the file.
private_dir() {
  d=$1
  [ -e "$d" ] || [ -L "$d" ] || { mkdir -p "$(dirname "$d")" && mkdir -m 700 "$d"; } 2>/dev/null || return 1
  [ -d "$d" ] && [ ! -L "$d" ] && [ -O "$d" ] || return 1
  [ "$(find "$d" -maxdepth 0 -perm 700 2>/dev/null)" = "$d" ]
}

. "$(dirname "$0")/find-vaultwire.sh"

# The terminal, when there is one: the only place Helm 4 cannot hide. VAULTWIRE_NO_TTY=1 (set by
# `helm vaultwire`, which prints the message itself) keeps it quiet.
to_tty() {
  [ "${VAULTWIRE_NO_TTY:-0}" = 1 ] && return 0
  { cat "$1" > /dev/tty; } 2>/dev/null || true
}

# Record a failure. The message goes into a new file that mktemp creates (O_EXCL: it never opens an
# existing name or follows a symlink), then is renamed over last-error, which replaces whatever was
# there rather than writing through it; a reader never sees half a message.
save_error() {
  d=$(last_error_dir)
  if private_dir "$d" && new=$(mktemp "$d/.last-error.XXXXXX" 2>/dev/null); then
    cat "$1" > "$new" && mv -f "$new" "$d/last-error"
  else
    echo "vaultwire: not writing the last-error file: $d is not a private directory of this user (mode 0700)" >> "$1"
  fi
  to_tty "$1"
  cat "$1" >&2 # Helm 3 and direct runs still show stderr
}

clear_error() {
  d=$(last_error_dir)
  [ -d "$d" ] && [ ! -L "$d" ] && [ -O "$d" ] && rm -f "$d/last-error"
  return 0
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
  cat > "$tmp/in" || exit 1
  if is_blank "$tmp/in"; then empty_stream; exit 0; fi
  if ! find_vaultwire; then
    echo "vaultwire: binary not found: run the plugin's install hook (helm plugin update ${HELM_PLUGIN_NAME:-vaultwire-post-renderer}) or put vaultwire on PATH" > "$tmp/err"
    save_error "$tmp/err"
    exit 1
  fi
  bin=$VAULTWIRE
  "$bin" "$@" < "$tmp/in" > "$tmp/out" 2> "$tmp/err"
  rc=$?
  if [ "$rc" -ne 0 ]; then
    # 126/127: the shell could not run it at all (wrong architecture, not executable, gone).
    case $rc in 126 | 127) echo "vaultwire: could not run $bin (exit $rc)" >> "$tmp/err" ;; esac
    save_error "$tmp/err"
    exit "$rc"
  fi
  clear_error # the last run succeeded: no stale message to mislead
  [ -s "$tmp/err" ] && { to_tty "$tmp/err"; cat "$tmp/err" >&2; } # warnings, --explain
  if is_blank "$tmp/out"; then empty_stream; else cat "$tmp/out"; fi
}

main "$@"
