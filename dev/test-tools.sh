#!/usr/bin/env bash
# What the test suite needs beside npm packages, made ready before `npm test` runs
# (npm's pretest): Lua 5.1 from Debian's packages for the Argo CD health check
# (Argo CD runs gopher-lua, a Lua 5.1), the control plane and kstatus built from Go
# modules, and the real node's programs (containerd, runc, CNI plugins from Debian's
# packages; the kubelet from Go modules, ~11 min cold). Each step is a no-op when its
# tool is already there.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if ! command -v "${DLO_LUA:-lua5.1}" >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "[test-tools] installing lua5.1 from Debian's packages" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lua5.1 >/dev/null
  else
    echo "[test-tools] lua5.1 is missing: install it (Debian: apt-get install lua5.1) or set DLO_LUA to a Lua 5.1 interpreter" >&2
    exit 1
  fi
fi
bash "$root/dev/build-control-plane.sh" >/dev/null
bash "$root/dev/build-kstatus.sh" >/dev/null
bash "$root/dev/realnode/packages.sh"
bash "$root/dev/build-kubelet.sh" >/dev/null
