#!/bin/sh
# helm vaultwire: the same commands on Helm 3 and Helm 4.
#   helm vaultwire template|install|upgrade [HELM ARGS...] -- [VAULTWIRE ARGS...]
#   helm vaultwire explain|lint [HELM TEMPLATE ARGS...] -- [VAULTWIRE ARGS...]   (no chart: stdin)
# template/install/upgrade run "$HELM_BIN" with the post-renderer flag the Helm version needs: Helm 3
# takes the path of the binary, Helm 4 the name of a postrenderer/v1 plugin.
set -eu

POSTRENDERER_PLUGIN=vaultwire-post-renderer
HELM=${HELM_BIN:-helm}

die() { echo "helm vaultwire: $*" >&2; exit 2; }

usage() {
  sed -n '2,4s/^# \{0,1\}//p' "$0" >&2
  exit 2
}

# The binary, checked to run: a Helm 3 given an empty or broken --post-renderer would deploy without
# vaultwire, so every way of not finding one stops here, in this shell (never in a $(...)).
. "$(dirname "$0")/find-vaultwire.sh"
require_vaultwire() {
  find_vaultwire || die "no vaultwire binary: run 'helm plugin update vaultwire' (the install hook) or put vaultwire on PATH"
  "$VAULTWIRE" --version >/dev/null 2>&1 || die "$VAULTWIRE does not run ('$VAULTWIRE --version' failed): run 'helm plugin update vaultwire'"
}

# 3 or 4, from `helm version`; anything else is refused (Helm 3 before 3.10 has no --post-renderer-args).
helm_major() {
  v=$("$HELM" version --template '{{.Version}}' 2>/dev/null) || die "cannot run '$HELM version' (set HELM_BIN)"
  minor=$(echo "$v" | sed -n 's/^v3\.\([0-9][0-9]*\).*/\1/p')
  case "$v" in
    v3.*) [ -n "$minor" ] && [ "$minor" -ge 10 ] || die "Helm $v is too old: --post-renderer-args needs Helm 3.10 or later"
      echo 3 ;;
    v4.*) echo 4 ;;
    *) die "unsupported Helm version '$v': vaultwire supports Helm 3.10+ and Helm 4" ;;
  esac
}

# Helm 4 resolves --post-renderer by plugin name: say so before Helm's own vaguer "not found".
require_postrenderer_plugin() {
  grep -qs "^name: $POSTRENDERER_PLUGIN\$" "${HELM_PLUGINS:-/nonexistent}"/*/plugin.yaml ||
    die "Helm 4 needs the $POSTRENDERER_PLUGIN plugin: helm plugin install vaultwire-post-renderer-<version>.tgz (or <vaultwire checkout>/helm-plugin/postrenderer)"
}

# template|install|upgrade: helm args before `--` are kept, the post-renderer flag is added, and each
# vaultwire arg after `--` becomes one --post-renderer-args=ARG (the `=` form, since they start with -).
run_helm_with_postrenderer() {
  sub=$1; shift
  major=$(helm_major) || exit 2
  past=0
  for a; do # the list is expanded once, so rebuilding "$@" inside the loop is safe (no arrays in sh)
    shift
    if [ "$past" = 1 ]; then set -- "$@" "--post-renderer-args=$a"
    elif [ "$a" = -- ]; then past=1
    else set -- "$@" "$a"; fi
  done
  if [ "$major" = 3 ]; then
    require_vaultwire
    set -- "$@" --post-renderer "$VAULTWIRE"
  else
    require_postrenderer_plugin
    set -- "$@" --post-renderer "$POSTRENDERER_PLUGIN"
  fi
  # Helm 4 hides the plugin's stderr: the post-renderer writes it into a private directory of this
  # run (mktemp -d: mode 0700, a fresh name), and we show it (and ask the post-renderer not to
  # print it on the terminal as well).
  VAULTWIRE_LAST_ERROR_DIR=$(mktemp -d "${TMPDIR:-/tmp}/vaultwire.XXXXXX") || die "cannot create a private temporary directory"
  trap 'rm -rf "$VAULTWIRE_LAST_ERROR_DIR"' EXIT
  VAULTWIRE_NO_TTY=1
  export VAULTWIRE_LAST_ERROR_DIR VAULTWIRE_NO_TTY
  rc=0
  "$HELM" "$sub" "$@" || rc=$?
  if [ "$rc" -ne 0 ] && [ -s "$VAULTWIRE_LAST_ERROR_DIR/last-error" ]; then
    echo "helm vaultwire: the post-renderer failed; vaultwire said:" >&2
    cat "$VAULTWIRE_LAST_ERROR_DIR/last-error" >&2
  fi
  return "$rc"
}

# The stream for explain/lint into file $1: `helm template ARGS` for the args before `--`, or stdin
# when there are none.
render_or_read() {
  out=$1; shift
  n=0
  for a; do [ "$a" = -- ] && break; n=$((n + 1)); done
  i=0
  for a; do shift; [ "$i" -lt "$n" ] && set -- "$@" "$a"; i=$((i + 1)); done
  if [ "$#" -gt 0 ]; then "$HELM" template "$@" > "$out"; else cat > "$out"; fi
}

# explain: vaultwire --explain on the stream (the explanation, not the stream, is the output).
# lint: `vaultwire lint --strict` (findings on stdout; with a mode it lints what vaultwire would
# emit, and every warning is an error).
run_on_stream() {
  what=$1; shift
  require_vaultwire
  bin=$VAULTWIRE
  stream=$(mktemp "${TMPDIR:-/tmp}/vaultwire-stream.XXXXXX") || die "cannot create a temporary file"
  trap 'rm -f "$stream"' EXIT
  render_or_read "$stream" "$@" || exit 1
  while [ "$#" -gt 0 ] && [ "$1" != -- ]; do shift; done
  [ "$#" -gt 0 ] && shift # the `--`; vaultwire args remain
  case "$what" in
    explain) "$bin" --explain "$@" < "$stream" > /dev/null ;;
    lint)
      rc=0
      "$bin" lint --strict "$@" < "$stream" || rc=$?
      if [ "$rc" = 0 ]; then echo "helm vaultwire lint: ok"; else echo "helm vaultwire lint: failed (exit $rc)" >&2; fi
      return "$rc" ;;
  esac
}

[ "$#" -ge 1 ] || usage
sub=$1; shift
case "$sub" in
  template | install | upgrade) run_helm_with_postrenderer "$sub" "$@" ;;
  explain | lint) run_on_stream "$sub" "$@" ;;
  -h | --help | help) usage ;;
  *) die "unknown command '$sub' (template, install, upgrade, explain, lint)" ;;
esac
