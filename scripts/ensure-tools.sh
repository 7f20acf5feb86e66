#!/usr/bin/env bash
# Ensure the command-line tools the syncd test-suite runs besides Docker (idempotent):
#   age, age-keygen  (Debian package age): the `syncd secrets` tests make keys with age-keygen
#                    and check with `age -d` that syncd's wrapped data key opens.
#   systemd-analyze  (Debian package systemd): tests/test_contrib.py verifies contrib/syncd.service.
set -euo pipefail

log() { printf '[ensure-tools] %s\n' "$*" >&2; }

declare -A PKG_FOR=([age]=age [age-keygen]=age [systemd-analyze]=systemd)
missing=()
for bin in "${!PKG_FOR[@]}"; do
    if ! command -v "$bin" >/dev/null 2>&1; then
        pkg="${PKG_FOR[$bin]}"
        [[ " ${missing[*]-} " == *" $pkg "* ]] || missing+=("$pkg")
    fi
done
if ((${#missing[@]} == 0)); then
    exit 0
fi
[[ "$(id -u)" -eq 0 ]] || { log "missing ${missing[*]} and not root: install them"; exit 1; }
log "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=300 update -qq
apt-get -o DPkg::Lock::Timeout=300 install -y -qq "${missing[@]}" >/dev/null
