#!/usr/bin/env bash
# Ensure the offline test image `busybox:1.36` exists in the local Docker engine (idempotent).
#
# Docker Hub is not reachable from CI, so the image is built from Debian's busybox-static:
# a tiny rootfs (/bin/busybox + applet symlinks, /tmp, /etc/passwd, /etc/group) is fed to
# `docker import`. NOTE: the busybox inside is Debian's version (1.35.x), the tag only
# mimics the upstream image name used by the tests and sample stacks.
# Requires a running engine: run scripts/ensure-docker.sh first.
set -euo pipefail

IMAGE="${SYNCD_TEST_IMAGE:-busybox:1.36}"
BUSYBOX_BIN=/bin/busybox
LOCK_FILE="${TMPDIR:-/tmp}/syncd-ensure-test-image.lock"
REQUIRED_APPLETS=(sh httpd sleep wget echo cat ls mkdir touch true false env id nc ps kill
    test grep date hostname nslookup printf)

log() { printf '[ensure-test-image] %s\n' "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    log "$IMAGE already present"
    exit 0
fi
timeout 20 docker info >/dev/null 2>&1 || die "no Docker engine reachable; run scripts/ensure-docker.sh first"

exec 9>"$LOCK_FILE"
flock -w 120 9 || die "could not acquire $LOCK_FILE"
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    log "$IMAGE appeared while waiting for the lock"
    exit 0
fi

# --- busybox-static ----------------------------------------------------------------
if [[ "$(dpkg-query -W -f='${Status}' busybox-static 2>/dev/null || true)" != "install ok installed" ]]; then
    log "installing busybox-static"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=300 update -qq
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq busybox-static >/dev/null
fi
[[ -x "$BUSYBOX_BIN" ]] || die "$BUSYBOX_BIN not found after installing busybox-static"
# `ldd` succeeds only for dynamically linked executables, which would not run in a scratch image.
if ldd "$BUSYBOX_BIN" >/dev/null 2>&1; then
    die "$BUSYBOX_BIN is dynamically linked; install busybox-static (it replaces busybox)"
fi

# --- rootfs ------------------------------------------------------------------------
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
root="$tmp/rootfs"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,home,tmp,var/www,dev,proc,sys}
chmod 1777 "$root/tmp"
chmod 700 "$root/root"
install -m 0755 "$BUSYBOX_BIN" "$root/bin/busybox"

mapfile -t applets < <("$BUSYBOX_BIN" --list)
for applet in "${REQUIRED_APPLETS[@]}"; do
    printf '%s\n' "${applets[@]}" | grep -qxF -- "$applet" || die "busybox lacks required applet '$applet'"
done
for applet in "${applets[@]}"; do
    [[ -z "$applet" || "$applet" == busybox || "$applet" == */* ]] && continue
    ln -s busybox "$root/bin/$applet"
done

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/home:/bin/false
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
EOF

# --- import --------------------------------------------------------------------------
log "building $IMAGE offline from $BUSYBOX_BIN (${#applets[@]} applets)"
tar --numeric-owner --owner=0 --group=0 -C "$root" -cf - . |
    docker import \
        --change 'CMD ["sh"]' \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'LABEL org.syncd.test-image=busybox-static' \
        --message "syncd offline test image from Debian busybox-static" \
        - "$IMAGE" >/dev/null

out="$(docker run --rm --label syncd.test=1 "$IMAGE" sh -c 'echo ok' 2>&1)" || out="failed: $out"
if [[ "$out" != ok ]]; then
    docker image rm "$IMAGE" >/dev/null 2>&1 || true
    die "smoke test of freshly built $IMAGE failed: $out"
fi
log "built $IMAGE ($(docker image inspect --format '{{.Id}}' "$IMAGE"))"
