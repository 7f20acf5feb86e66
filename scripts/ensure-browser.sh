#!/usr/bin/env bash
# Ensure Debian's headless browser for the status page tests (idempotent): chromium and its
# chromedriver, driven by selenium from pytest (tests/test_status_page.py).
set -euo pipefail

log() { printf '[ensure-browser] %s\n' "$*" >&2; }

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi
[[ "$(id -u)" -eq 0 ]] || { log "chromium or chromedriver missing and not root: install them"; exit 1; }
log "installing Debian packages: chromium chromium-driver"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=300 update -qq
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
command -v chromium >/dev/null && command -v chromedriver >/dev/null
log "$(chromium --version 2>/dev/null | head -1)"
