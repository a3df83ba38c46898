#!/usr/bin/env bash
# Builds the local control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kwok) from Go modules through the module proxy, and caches the
# binaries under ~/.cache/distroless-operator/bin/k8s-v<K>-etcd-v<E>-kwok-v<W>/ (the pins
# of dev/controlplane/versions.env). A warm cache makes this a no-op. Prints the binary
# directory on its last line; progress goes to stderr. Concurrent runs (two jest runs on
# a cold cache) take turns on a lock instead of writing the same files.
#
# k8s.io/kubernetes and go.etcd.io/etcd/server/v3 cannot be `go install`ed: their
# go.mod files use replace directives (k8s.io/kubernetes points every staging module
# at ./staging). A small wrapper module per component supplies those replaces itself.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=controlplane/versions.env
source "$root/dev/controlplane/versions.env"

cache="${DISTROLESS_CACHE_DIR:-$HOME/.cache/distroless-operator}"
bin="$cache/bin/k8s-v$KUBERNETES_VERSION-etcd-v$ETCD_VERSION-kwok-v$KWOK_VERSION"
work="$cache/build"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local

log() { printf '[build-control-plane] %s\n' "$*" >&2; }

have_all() {
  for b in etcd kube-apiserver kube-controller-manager kube-scheduler kwok; do
    [ -x "$bin/$b" ] || return 1
  done
}

# shellcheck source=build-cache.sh
source "$root/dev/build-cache.sh"
exit_if_built
take_build_lock "the control plane is"
mkdir -p "$work"

# wrapper MODULE_DIR MODULE_NAME REQUIRE... ; writes a go.mod with the given requires
wrapper() {
  local dir="$1" name="$2"; shift 2
  rm -rf "$dir"; mkdir -p "$dir"
  { echo "module $name"; echo; echo "go 1.24.0"; echo; for r in "$@"; do echo "require $r"; done; } >"$dir/go.mod"
}

build_kubernetes() {
  local v="v$KUBERNETES_VERSION" staging="v0.${KUBERNETES_VERSION#*.}"
  local dir="$work/kubernetes-$v"
  log "kubernetes $v: resolving staging modules at $staging"
  local gomod
  gomod="$(cd "$work" && go mod download -json "k8s.io/kubernetes@$v" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')"
  wrapper "$dir" local.build/kubernetes "k8s.io/kubernetes $v"
  # Every `k8s.io/x => ./staging/src/k8s.io/x` in kubernetes' go.mod becomes `k8s.io/x => k8s.io/x v0.MINOR.PATCH`.
  sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\1#p' "$gomod" |
    while read -r m; do echo "replace $m => $m $staging"; done >>"$dir/go.mod"
  cat >"$dir/tools.go" <<GO
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
GO
  (cd "$dir" && go mod tidy -e >/dev/null 2>&1 || true
   for c in kube-apiserver kube-controller-manager kube-scheduler; do
     log "kubernetes $v: building $c"
     go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$v -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${KUBERNETES_VERSION#*.}" \
       -o "$bin/$c.tmp" "k8s.io/kubernetes/cmd/$c"
     mv "$bin/$c.tmp" "$bin/$c"
   done)
}

build_etcd() {
  local v="v$ETCD_VERSION" dir="$work/etcd-v$ETCD_VERSION"
  log "etcd $v: building"
  wrapper "$dir" local.build/etcd "go.etcd.io/etcd/server/v3 $v"
  # etcd's own replaces point at sibling directories, but its requires already name
  # the matching released versions, so no replace is needed here.
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' >"$dir/tools.go"
  (cd "$dir" && go mod tidy -e >/dev/null 2>&1 || true
   go build -trimpath -ldflags "-s -w" -o "$bin/etcd.tmp" go.etcd.io/etcd/server/v3 && mv "$bin/etcd.tmp" "$bin/etcd")
}

build_kwok() {
  local v="v$KWOK_VERSION" dir="$work/kwok-v$KWOK_VERSION"
  log "kwok $v: building"
  wrapper "$dir" local.build/kwok "sigs.k8s.io/kwok $v"
  printf '//go:build tools\n\npackage tools\n\nimport _ "sigs.k8s.io/kwok/cmd/kwok"\n' >"$dir/tools.go"
  (cd "$dir" && go mod tidy -e >/dev/null 2>&1 || true
   go build -trimpath -ldflags "-s -w" -o "$bin/kwok.tmp" sigs.k8s.io/kwok/cmd/kwok && mv "$bin/kwok.tmp" "$bin/kwok")
}

start=$(date +%s)
[ -x "$bin/etcd" ] || build_etcd
[ -x "$bin/kwok" ] || build_kwok
{ [ -x "$bin/kube-apiserver" ] && [ -x "$bin/kube-controller-manager" ] && [ -x "$bin/kube-scheduler" ]; } || build_kubernetes
have_all || { log "some binaries are missing from $bin"; exit 1; }
log "built in $(( $(date +%s) - start ))s: $bin"
echo "$bin"
