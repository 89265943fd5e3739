#!/usr/bin/env bash
# Prints the path of a real Helm CLI of the given version, building it first when it is not cached:
#   bash tests/tools/helm.sh v3.22.0   ->  ~/.cache/vaultwire/helm-v3.22.0/helm
# Built with the machine's Go from the Go module proxy (`go install helm.sh/helm/vN/cmd/helm@VER`),
# with the version stamped in as Helm's own release builds do (a plain `go install` says "v3.22").
# The cache sits outside the repository, keyed by version, so every clone reuses it.
set -euo pipefail
ver=${1:?usage: helm.sh VERSION}
major=${ver%%.*}
dir=${VAULTWIRE_TOOL_CACHE:-$HOME/.cache/vaultwire}/helm-$ver
if [ ! -x "$dir/helm" ] || [ "$("$dir/helm" version --template '{{.Version}}' 2>/dev/null)" != "$ver" ]; then
  command -v go >/dev/null || { echo "tests/tools/helm.sh: Go is needed to build Helm $ver" >&2; exit 1; }
  tmp=$(mktemp -d "$(dirname "$dir")/.helm-build.XXXXXX" 2>/dev/null || { mkdir -p "$(dirname "$dir")"; mktemp -d "$(dirname "$dir")/.helm-build.XXXXXX"; })
  trap 'rm -rf "$tmp"' EXIT
  echo "building Helm $ver into $dir (go install, once)" >&2
  (cd "$tmp" && GOBIN="$tmp" GOFLAGS=-mod=mod go install \
    -ldflags "-s -w -X helm.sh/helm/$major/internal/version.version=$ver" \
    "helm.sh/helm/$major/cmd/helm@$ver") >&2
  mkdir -p "$dir"
  mv -f "$tmp/helm" "$dir/helm"
fi
echo "$dir/helm"
