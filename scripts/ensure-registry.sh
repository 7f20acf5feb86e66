#!/usr/bin/env bash
# Ensure the private test registry used by the syncd test-suite (idempotent).
#
# * Runs Debian's `docker-registry` binary (distribution v2, not a container) on
#   127.0.0.1:5555 with htpasswd (bcrypt) auth; config, htpasswd, data and log live in
#   /var/lib/syncd-test-registry. Started detached (setsid + nohup) if the port is silent.
# * Pushes busybox:1.36 as 127.0.0.1:5555/private/busybox:1.36 unless the registry already
#   has that tag. Login uses a throw-away DOCKER_CONFIG (and logs out), so no credentials
#   are left in any client config; the local registry tag is removed so tests really pull.
# Docker treats 127.0.0.0/8 registries as insecure, so plain HTTP works without daemon config.
# Requires a running engine and the test image: run ensure-docker.sh and ensure-test-image.sh.
set -euo pipefail

ADDR=127.0.0.1:5555
REG_USER="${SYNCD_TEST_REGISTRY_USER:-syncd-test}"
REG_PASSWORD="${SYNCD_TEST_REGISTRY_PASSWORD:-syncd-test-pw}"
SOURCE_IMAGE="${SYNCD_TEST_IMAGE:-busybox:1.36}"
REPO=private/busybox
TAG=1.36
TARGET="$ADDR/$REPO:$TAG"

STATE_DIR=/var/lib/syncd-test-registry
CONFIG="$STATE_DIR/config.yml"
HTPASSWD="$STATE_DIR/htpasswd"
DATA_DIR="$STATE_DIR/data"
LOG_FILE="$STATE_DIR/registry.log"
PID_FILE="$STATE_DIR/registry.pid"
LOCK_FILE="${TMPDIR:-/tmp}/syncd-ensure-registry.lock"
WAIT_SECONDS=30
MANIFEST_ACCEPT='application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json'

log() { printf '[ensure-registry] %s\n' "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

if [[ -n "${SYNCD_TEST_REGISTRY:-}" && "${SYNCD_TEST_REGISTRY}" != "$ADDR" ]]; then
    log "SYNCD_TEST_REGISTRY=${SYNCD_TEST_REGISTRY}: external registry configured, not managing $ADDR"
    exit 0
fi

exec 9>"$LOCK_FILE"
flock -w 120 9 || die "could not acquire $LOCK_FILE"

# --- packages ----------------------------------------------------------------------
declare -A PKG_FOR=([docker-registry]=docker-registry [htpasswd]=apache2-utils [curl]=curl)
missing=()
for bin in docker-registry htpasswd curl; do
    command -v "$bin" >/dev/null 2>&1 || missing+=("${PKG_FOR[$bin]}")
done
if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=300 update -qq
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq "${missing[@]}" >/dev/null
fi

http_code() { # $1 = path, remaining args passed to curl
    local path="$1"
    shift
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" "http://$ADDR$path" || true
}

our_pid() { # prints the pid of the registry this script started, if still alive
    local pid
    pid="$(cat "$PID_FILE" 2>/dev/null || true)"
    [[ -n "$pid" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "docker-registry serve $CONFIG" &&
        echo "$pid"
}

# --- config + credentials -------------------------------------------------------------
mkdir -p "$DATA_DIR"
chmod 700 "$STATE_DIR"
changed=0

if ! { [[ -s "$HTPASSWD" ]] && htpasswd -vb "$HTPASSWD" "$REG_USER" "$REG_PASSWORD" >/dev/null 2>&1; }; then
    htpasswd -Bbn "$REG_USER" "$REG_PASSWORD" >"$HTPASSWD.new"
    mv "$HTPASSWD.new" "$HTPASSWD"
    chmod 600 "$HTPASSWD"
    changed=1
fi

cat >"$CONFIG.new" <<EOF
# Managed by scripts/ensure-registry.sh (syncd test-suite). Local edits are overwritten.
version: 0.1
log:
  level: info
  fields:
    service: syncd-test-registry
storage:
  filesystem:
    rootdirectory: $DATA_DIR
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: $ADDR
  secret: syncd-test-registry-not-a-secret
  headers:
    X-Content-Type-Options: [nosniff]
auth:
  htpasswd:
    realm: syncd-test-registry
    path: $HTPASSWD
EOF
if cmp -s "$CONFIG.new" "$CONFIG"; then
    rm -f "$CONFIG.new"
else
    mv "$CONFIG.new" "$CONFIG"
    changed=1
fi

# --- registry process ---------------------------------------------------------------
if ((changed)) && pid="$(our_pid)"; then
    log "config/credentials changed: restarting registry (pid $pid)"
    kill "$pid"
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
fi

code="$(http_code /v2/)"
case "$code" in
401)
    log "registry already answering on $ADDR"
    ;;
000)
    printf '\n=== %s: started by %s ===\n' "$(date -Is)" "$0" >>"$LOG_FILE"
    log "starting docker-registry on $ADDR (log: $LOG_FILE)"
    setsid nohup docker-registry serve "$CONFIG" >>"$LOG_FILE" 2>&1 </dev/null 9>&- &
    pid=$!
    disown "$pid" 2>/dev/null || true
    echo "$pid" >"$PID_FILE"
    for ((i = 0; i < WAIT_SECONDS * 5; i++)); do
        code="$(http_code /v2/)"
        [[ "$code" == 401 ]] && break
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 30 "$LOG_FILE" >&2 || true
            die "docker-registry (pid $pid) exited during startup"
        fi
        sleep 0.2
    done
    if [[ "$code" != 401 ]]; then
        tail -n 30 "$LOG_FILE" >&2 || true
        die "registry on $ADDR did not answer 401 on /v2/ within ${WAIT_SECONDS}s (last: $code)"
    fi
    log "registry up (pid $pid)"
    ;;
*)
    die "something on $ADDR answered HTTP $code on /v2/ (expected 401 from an auth-enabled registry)"
    ;;
esac

# --- seed the private image -----------------------------------------------------------
manifest_code() {
    http_code "/v2/$REPO/manifests/$TAG" -u "$REG_USER:$REG_PASSWORD" -H "Accept: $MANIFEST_ACCEPT"
}

untag_local() {
    if docker image inspect "$TARGET" >/dev/null 2>&1; then
        docker image rm "$TARGET" >/dev/null
    fi
}

code="$(manifest_code)"
if [[ "$code" == 200 ]]; then
    log "registry already has $REPO:$TAG; nothing to push"
else
    [[ "$code" == 404 ]] || die "unexpected HTTP $code when checking $REPO:$TAG manifest"
    timeout 20 docker info >/dev/null 2>&1 || die "no Docker engine reachable; run scripts/ensure-docker.sh"
    docker image inspect "$SOURCE_IMAGE" >/dev/null 2>&1 ||
        die "$SOURCE_IMAGE missing locally; run scripts/ensure-test-image.sh"

    DOCKER_CONFIG="$(mktemp -d)"
    export DOCKER_CONFIG
    cleanup() {
        docker logout "$ADDR" >/dev/null 2>&1 || true
        rm -rf "$DOCKER_CONFIG"
        untag_local || true
    }
    trap cleanup EXIT

    log "pushing $SOURCE_IMAGE as $TARGET"
    if ! out="$(printf '%s' "$REG_PASSWORD" |
        docker login --username "$REG_USER" --password-stdin "$ADDR" 2>&1)"; then
        die "docker login $ADDR failed: $out"
    fi
    docker tag "$SOURCE_IMAGE" "$TARGET"
    docker push "$TARGET" >/dev/null
    docker logout "$ADDR" >/dev/null
    code="$(manifest_code)"
    [[ "$code" == 200 ]] || die "push finished but registry answers HTTP $code for $REPO:$TAG"
    log "pushed $TARGET"
fi

untag_local
