#!/usr/bin/env bash
# The real node's programs from Debian's packages: containerd (1.6, with its CRI
# plugin), runc, the CNI plugins (bridge, host-local, loopback, portmap), iptables
# (the plugins' masquerade and host ports go through it; the node's CNI config asks
# for neither today), ip (a sweep deletes the bridge) and ping (the smoke check pings
# a Pod). A no-op when all are there. Installs them as root with apt-get; anyone else
# gets the apt-get line to run. Never starts a service: the packages' own units are
# not used, the launcher runs containerd itself.
set -euo pipefail

# program -> package
declare -A needed=(
  [containerd]=containerd
  [runc]=runc
  [/usr/lib/cni/bridge]=containernetworking-plugins
  [iptables]=iptables
  [ip]=iproute2
  [ping]=iputils-ping
)

missing=()
for program in "${!needed[@]}"; do
  if [[ "$program" == /* ]]; then [ -x "$program" ] && continue; else command -v "$program" >/dev/null && continue; fi
  missing+=("${needed[$program]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "[real node] missing Debian packages: ${missing[*]}; install them (apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "[real node] installing ${missing[*]} from Debian's packages" >&2
apt-get update -qq
# policy-rc.d exit 101: the packages' services are not started, whatever init the machine has.
policy=/usr/sbin/policy-rc.d
if [ -e "$policy" ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  trap 'rm -f "$policy"' EXIT
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
