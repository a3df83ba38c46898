#!/usr/bin/env bash
# Builds one of the small Go programs the tests use, test/NAME (kstatus from
# sigs.k8s.io/cli-utils; compose-check, the Compose specification's own loader from
# github.com/compose-spec/compose-go/v2), through the Go module proxy, and caches the
# binary under ~/.cache/distroless-operator/bin/NAME-<digest of its sources>/NAME.
# A warm cache makes this a no-op. Prints the binary's path on its last line;
# progress goes to stderr.
#   usage: dev/build-go-test-tool.sh NAME
set -euo pipefail

name="${1:?usage: $0 NAME (a directory under test/ with go.mod, go.sum and main.go)}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$root/test/$name"
[ -f "$src/main.go" ] || { echo "[build-$name] no Go program at $src" >&2; exit 1; }
cache="${DISTROLESS_CACHE_DIR:-$HOME/.cache/distroless-operator}"
digest="$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | sha256sum | cut -c1-12)"
bin="$cache/bin/$name-$digest/$name"

if [ -x "$bin" ]; then
  echo "[build-$name] cached: $bin" >&2
  echo "$bin"
  exit 0
fi
command -v go >/dev/null || { echo "[build-$name] go is not on PATH" >&2; exit 1; }
mkdir -p "$(dirname "$bin")"
echo "[build-$name] building $bin" >&2
(cd "$src" && CGO_ENABLED=0 GOTOOLCHAIN=local go build -trimpath -ldflags "-s -w" -o "$bin.tmp" .)
mv "$bin.tmp" "$bin"
echo "$bin"
