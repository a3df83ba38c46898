#!/usr/bin/env bash
# Builds test/compose-check (the Compose specification's own loader,
# github.com/compose-spec/compose-go/v2, through the Go module proxy) and caches the
# binary under ~/.cache/distroless-operator/bin/compose-check-<digest of its
# sources>/. A warm cache makes this a no-op. Prints the binary's path on its last
# line; progress goes to stderr.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$root/test/compose-check"
cache="${DISTROLESS_CACHE_DIR:-$HOME/.cache/distroless-operator}"
digest="$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | sha256sum | cut -c1-12)"
bin="$cache/bin/compose-check-$digest/compose-check"

if [ -x "$bin" ]; then
  echo "[build-compose-check] cached: $bin" >&2
  echo "$bin"
  exit 0
fi
command -v go >/dev/null || { echo "[build-compose-check] go is not on PATH" >&2; exit 1; }
mkdir -p "$(dirname "$bin")"
echo "[build-compose-check] building $bin" >&2
(cd "$src" && CGO_ENABLED=0 GOTOOLCHAIN=local go build -trimpath -ldflags "-s -w" -o "$bin.tmp" .)
mv "$bin.tmp" "$bin"
echo "$bin"
