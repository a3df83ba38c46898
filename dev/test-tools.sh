#!/usr/bin/env bash
# What the test suite needs beside npm packages, made ready before `npm test` runs
# (npm's pretest): Lua 5.1 from Debian's packages for the Argo CD health check
# (Argo CD runs gopher-lua, a Lua 5.1), the control plane, kstatus, the Compose
# checker, Prometheus's promtool (~20 min cold on two busy cores, 12 min of CPU),
# helm (~3.5 min cold, 5 min of CPU) and krew (under a minute) built from Go modules,
# and the real node's programs (containerd, runc, CNI
# plugins from Debian's packages; the kubelet and kube-proxy from Go modules, ~11 min cold), the
# images the e2e tests pull (dev/images, pushed to the local registry; ~3 min cold)
# and the clients they check with (psql, curl). Each step is a no-op when its tool is
# already there.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# need COMMAND PACKAGE: installs the Debian package when the command is missing.
need() {
  command -v "$1" >/dev/null && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "[test-tools] installing $2 from Debian's packages" >&2
    [ -n "${apt_updated:-}" ] || { apt-get update -qq; apt_updated=1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
  else
    echo "[test-tools] $1 is missing: install it (Debian: apt-get install $2)" >&2
    exit 1
  fi
}
if [ -z "${DLO_LUA:-}" ]; then need lua5.1 lua5.1; fi
need psql postgresql-client
need curl curl
bash "$root/dev/build-control-plane.sh" >/dev/null
bash "$root/dev/build-go-test-tool.sh" kstatus >/dev/null
bash "$root/dev/build-go-test-tool.sh" compose-check >/dev/null
bash "$root/dev/build-go-test-tool.sh" promtool >/dev/null
bash "$root/dev/build-go-test-tool.sh" helm >/dev/null
bash "$root/dev/build-go-test-tool.sh" krew >/dev/null
bash "$root/dev/realnode/packages.sh"
bash "$root/dev/build-node-programs.sh" >/dev/null
# The project's Node (npm's `node` package), whatever `node` the machine has.
(cd "$root" && npm exec --offline -- tsx dev/images/build.ts >/dev/null)
