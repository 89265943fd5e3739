# Sourced by helm-vaultwire.sh and postrender.sh: sets VAULTWIRE to the binary, or returns 1.
# The order: an explicit VAULTWIRE_BIN, the one the install hook linked into the plugin, then
# vaultwire on PATH. Only a regular executable file counts.
find_vaultwire() {
  VAULTWIRE=
  for c in "${VAULTWIRE_BIN:-}" "${HELM_PLUGIN_DIR:-$(dirname "$0")/..}/bin/vaultwire" "$(command -v vaultwire 2>/dev/null)"; do
    if [ -n "$c" ] && [ -f "$c" ] && [ -x "$c" ]; then VAULTWIRE=$c; return 0; fi
  done
  return 1
}
