#!/usr/bin/env bash
# The Debian programs the image builds need beside apt and dpkg (always on Debian):
# debootstrap for the full-distro init base; and apt's package lists, which the
# builds read to pick package versions (a fresh machine or container may have none).
# A no-op when all are there. Installs as root with apt-get; anyone else gets the
# apt-get line to run.
set -euo pipefail

have_lists() { compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; }

# program -> package
declare -A needed=(
  [debootstrap]=debootstrap
  [chroot]=coreutils
)

missing=()
for program in "${!needed[@]}"; do
  command -v "$program" >/dev/null || missing+=("${needed[$program]}")
done
[ ${#missing[@]} -eq 0 ] && have_lists && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  have_lists || echo "[images] apt has no package lists; run apt-get update" >&2
  [ ${#missing[@]} -eq 0 ] || echo "[images] missing Debian packages: ${missing[*]}; install them (apt-get install ${missing[*]})" >&2
  exit 1
fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "[images] apt-get update" >&2
else
  echo "[images] apt-get update, then installing ${missing[*]} from the Debian archive" >&2
fi
apt-get update -qq
[ ${#missing[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
