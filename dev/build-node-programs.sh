#!/usr/bin/env bash
# Builds the real node's Kubernetes programs (dev/realnode/) from Go modules, at the
# Kubernetes version pinned in dev/controlplane/versions.env: the kubelet, and
# kube-proxy (which gives Pods the kubernetes Service, so an operator in a Pod reaches
# the API server). Cached under ~/.cache/distroless-operator/bin/node-v<K>/; a warm
# cache makes this a no-op. Prints the binary directory on its last line; progress
# goes to stderr.
#
# It uses the wrapper module of dev/build-control-plane.sh (build/kubernetes-v<K>: the
# k8s.io/kubernetes require plus a replace per staging module), so the module
# versions, and Go's build cache, are the ones the kube-apiserver was built from. It
# takes the same lock as that script, since both write the wrapper's go.mod.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=controlplane/versions.env
source "$root/dev/controlplane/versions.env"

cache="${DISTROLESS_CACHE_DIR:-$HOME/.cache/distroless-operator}"
v="v$KUBERNETES_VERSION"
bin="$cache/bin/node-$v"
work="$cache/build"
dir="$work/kubernetes-$v"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local

log() { printf '[build-node-programs] %s\n' "$*" >&2; }
have_all() { [ -x "$bin/kubelet" ] && [ -x "$bin/kube-proxy" ]; }

# shellcheck source=build-cache.sh
source "$root/dev/build-cache.sh"
exit_if_built
take_build_lock "the kubelet and kube-proxy are"
mkdir -p "$work"

# The wrapper module, made as dev/build-control-plane.sh makes it when that script has
# not run here (or its build directory was removed): every
# `k8s.io/x => ./staging/src/k8s.io/x` of kubernetes' go.mod becomes
# `k8s.io/x => k8s.io/x v0.MINOR.PATCH`.
make_wrapper() {
  local staging="v0.${KUBERNETES_VERSION#*.}" gomod
  log "kubernetes $v: resolving staging modules at $staging"
  gomod="$(cd "$work" && go mod download -json "k8s.io/kubernetes@$v" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')"
  rm -rf "$dir"; mkdir -p "$dir"
  { echo "module local.build/kubernetes"; echo; echo "go 1.24.0"; echo; echo "require k8s.io/kubernetes $v"; } >"$dir/go.mod"
  sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\1#p' "$gomod" |
    while read -r m; do echo "replace $m => $m $staging"; done >>"$dir/go.mod"
}

start=$(date +%s)
grep -q '^replace k8s.io/api ' "$dir/go.mod" 2>/dev/null || make_wrapper
# A file of its own, so the control plane's tools.go stays as that script wrote it.
printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-proxy"\n\t_ "k8s.io/kubernetes/cmd/kubelet"\n)\n' >"$dir/tools_kubelet.go"
(cd "$dir" && { go mod tidy -e >/dev/null 2>&1 || true; }
 log "kubernetes $v: building kubelet and kube-proxy (about 11 minutes on 2 cores when Go's build cache is cold)"
 rm -rf "$bin/tmp" && mkdir -p "$bin/tmp"
 go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$v -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${KUBERNETES_VERSION#*.}" \
   -o "$bin/tmp/" k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy
 mv "$bin/tmp/kube-proxy" "$bin/kube-proxy" && mv "$bin/tmp/kubelet" "$bin/kubelet" && rmdir "$bin/tmp")
log "built in $(( $(date +%s) - start ))s: $bin"
echo "$bin"
