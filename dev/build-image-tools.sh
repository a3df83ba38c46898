#!/usr/bin/env bash
# Builds the image tooling from Go modules through the module proxy: the distribution
# registry (github.com/distribution/distribution/v3/cmd/registry) and crane
# (github.com/google/go-containerregistry/cmd/crane), at the pins of
# dev/images/versions.env, cached under
# ~/.cache/distroless-operator/bin/image-tools-distribution-v<D>-crane-v<C>/.
# A warm cache makes this a no-op. Prints the binary directory on its last line;
# progress goes to stderr. Concurrent runs take turns on the cache's build lock.
#
# Neither module has replace directives, so `go install module/cmd@version` builds
# them as released; no wrapper module is needed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=images/versions.env
source "$root/dev/images/versions.env"

cache="${DISTROLESS_CACHE_DIR:-$HOME/.cache/distroless-operator}"
bin="$cache/bin/image-tools-distribution-v$DISTRIBUTION_VERSION-crane-v$GO_CONTAINERREGISTRY_VERSION"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local

log() { printf '[build-image-tools] %s\n' "$*" >&2; }

have_all() { [ -x "$bin/registry" ] && [ -x "$bin/crane" ]; }

# shellcheck source=build-cache.sh
source "$root/dev/build-cache.sh"
exit_if_built
take_build_lock "the registry and crane are"

# install NAME PACKAGE@VERSION: go install into a scratch GOBIN, then move into place,
# so an interrupted build never leaves a half-written binary under its final name.
install() {
  local name="$1" pkg="$2" tmp
  tmp="$(mktemp -d "$bin/.gobin.XXXXXX")"
  log "building $name ($pkg)"
  GOBIN="$tmp" go install -trimpath -ldflags "-s -w" "$pkg"
  mv "$tmp/$name" "$bin/$name"
  rm -rf "$tmp"
}

start=$(date +%s)
[ -x "$bin/registry" ] || install registry "github.com/distribution/distribution/v3/cmd/registry@v$DISTRIBUTION_VERSION"
[ -x "$bin/crane" ] || install crane "github.com/google/go-containerregistry/cmd/crane@v$GO_CONTAINERREGISTRY_VERSION"
have_all || { log "some binaries are missing from $bin"; exit 1; }
log "built in $(( $(date +%s) - start ))s: $bin"
echo "$bin"
