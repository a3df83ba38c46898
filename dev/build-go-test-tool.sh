#!/usr/bin/env bash
# Builds one of the small Go programs the tests use, test/NAME (kstatus from
# sigs.k8s.io/cli-utils; compose-check, the Compose specification's own loader from
# github.com/compose-spec/compose-go/v2; promtool, Prometheus's own rules checker;
# helm, which lints and renders charts/distroless-operator),
# through the Go module proxy, and caches the binary under
# ~/.cache/distroless-operator/bin/NAME-<digest of its sources>/NAME.
# test/NAME is a Go module with either a main.go of its own, or no main.go and one
# `tool` directive in its go.mod naming an upstream main package (Go >= 1.24:
# `go get -tool PACKAGE@VERSION` in that directory), which is what gets built.
# A warm cache makes this a no-op. Prints the binary's path on its last line;
# progress goes to stderr.
#   usage: dev/build-go-test-tool.sh NAME
set -euo pipefail

name="${1:?usage: $0 NAME (a directory under test/ with go.mod, go.sum and a main.go or a tool directive)}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$root/test/$name"
[ -f "$src/go.mod" ] && [ -f "$src/go.sum" ] || { echo "[build-$name] no Go module at $src" >&2; exit 1; }
if [ -f "$src/main.go" ]; then
  sources=("$src/go.mod" "$src/go.sum" "$src/main.go")
  package=.
else
  # The go.mod's one `tool` line (a single-line directive; a tool ( ... ) block is not supported).
  package="$(awk '$1 == "tool" && $2 != "(" { print $2 }' "$src/go.mod")"
  [ -n "$package" ] && [ "$(printf '%s\n' "$package" | wc -l)" = 1 ] || {
    echo "[build-$name] $src has no main.go and not exactly one tool directive in its go.mod" >&2
    exit 1
  }
  sources=("$src/go.mod" "$src/go.sum")
fi
cache="${DISTROLESS_CACHE_DIR:-$HOME/.cache/distroless-operator}"
digest="$(cat "${sources[@]}" | sha256sum | cut -c1-12)"
bin="$cache/bin/$name-$digest/$name"

if [ -x "$bin" ]; then
  echo "[build-$name] cached: $bin" >&2
  echo "$bin"
  exit 0
fi
command -v go >/dev/null || { echo "[build-$name] go is not on PATH" >&2; exit 1; }
mkdir -p "$(dirname "$bin")"
echo "[build-$name] building $package as $bin" >&2
(cd "$src" && CGO_ENABLED=0 GOTOOLCHAIN=local go build -trimpath -ldflags "-s -w" -o "$bin.tmp" "$package")
mv "$bin.tmp" "$bin"
echo "$bin"
