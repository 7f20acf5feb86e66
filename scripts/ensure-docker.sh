#!/usr/bin/env bash
# Ensure a reachable Docker engine for the syncd test-suite (idempotent).
#
# * If `docker info` already works, that engine is reused and nothing else happens.
# * Otherwise the Debian packages providing missing binaries are installed with apt-get,
#   and `dockerd` is started detached (setsid + nohup) so that it outlives `make`.
#   Its output goes to $SYNCD_DOCKERD_LOG (default /var/log/syncd-dockerd.log).
# * Waits up to $SYNCD_DOCKERD_WAIT seconds (default 60) for `docker info` to succeed.
#
# Extra dockerd flags can be passed with SYNCD_DOCKERD_ARGS (word-split), e.g.
#   SYNCD_DOCKERD_ARGS='--storage-driver=vfs' scripts/ensure-docker.sh
set -euo pipefail

LOG_FILE="${SYNCD_DOCKERD_LOG:-/var/log/syncd-dockerd.log}"
WAIT_SECONDS="${SYNCD_DOCKERD_WAIT:-60}"
PID_FILE=/var/run/docker.pid
LOCK_FILE="${TMPDIR:-/tmp}/syncd-ensure-docker.lock"

log() { printf '[ensure-docker] %s\n' "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

docker_ok() {
    command -v docker >/dev/null 2>&1 && timeout 20 docker info >/dev/null 2>&1
}

apt_install() {
    log "installing Debian packages: $*"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=300 update -qq
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq "$@" >/dev/null
}

if docker_ok; then
    log "reusing running Docker engine ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
    exit 0
fi

# Serialise concurrent invocations (e.g. two make targets); re-check once we hold the lock.
exec 9>"$LOCK_FILE"
flock -w 120 9 || die "could not acquire $LOCK_FILE"
if docker_ok; then
    log "Docker engine came up while waiting for the lock; reusing it"
    exit 0
fi

if [[ -n "${DOCKER_HOST:-}" && "${DOCKER_HOST}" != unix:///var/run/docker.sock && "${DOCKER_HOST}" != unix:///run/docker.sock ]]; then
    die "DOCKER_HOST=${DOCKER_HOST} is not reachable; unset it to let this script start a local dockerd"
fi
[[ "$(id -u)" -eq 0 ]] || die "no Docker engine reachable and not running as root: cannot install/start dockerd"

# --- install missing binaries -------------------------------------------------
declare -A PKG_FOR=([docker]=docker.io [dockerd]=docker.io [docker-compose]=docker-compose)
missing=()
for bin in docker dockerd docker-compose; do
    if ! command -v "$bin" >/dev/null 2>&1; then
        pkg="${PKG_FOR[$bin]}"
        [[ " ${missing[*]-} " == *" $pkg "* ]] || missing+=("$pkg")
    fi
done
if ((${#missing[@]})); then
    apt_install "${missing[@]}"
fi

# --- start dockerd (unless one is already starting) ----------------------------
# The host's dockerd only: other dockerds on this machine (the test swarm's nodes, started with
# their own --pidfile and socket) are not it. Ours is the pid in $PID_FILE, or while it starts
# (before it writes that file) a dockerd started without a --pidfile of its own.
host_dockerd() {
    local pid
    pid="$(cat "$PID_FILE" 2>/dev/null || true)"
    if [[ -n "$pid" && "$(cat "/proc/${pid}/comm" 2>/dev/null || true)" == dockerd ]]; then
        echo "$pid"
        return 0
    fi
    for pid in $(pgrep -x dockerd || true); do
        if ! tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q -- '--pidfile'; then
            echo "$pid"
            return 0
        fi
    done
    return 1
}

dockerd_pid=""
if existing="$(host_dockerd)" && [[ -n "$existing" ]]; then
    dockerd_pid="$existing"
    log "dockerd already running (pid $dockerd_pid) but not answering yet; waiting for it"
else
    if [[ -f "$PID_FILE" ]]; then
        old_pid="$(cat "$PID_FILE" 2>/dev/null || true)"
        if [[ -z "$old_pid" || "$(cat "/proc/${old_pid}/comm" 2>/dev/null || true)" != dockerd ]]; then
            log "removing stale $PID_FILE (pid '${old_pid}')"
            rm -f "$PID_FILE"
        fi
    fi
    mkdir -p "$(dirname "$LOG_FILE")"
    printf '\n=== %s: started by %s ===\n' "$(date -Is)" "$0" >>"$LOG_FILE"
    log "starting dockerd in the background (log: $LOG_FILE)"
    # shellcheck disable=SC2086  # SYNCD_DOCKERD_ARGS is intentionally word-split
    setsid nohup dockerd ${SYNCD_DOCKERD_ARGS:-} >>"$LOG_FILE" 2>&1 </dev/null 9>&- &
    dockerd_pid=$!
    disown "$dockerd_pid" 2>/dev/null || true
fi

# --- wait for it -------------------------------------------------------------
for ((i = 0; i < WAIT_SECONDS; i++)); do
    if docker_ok; then
        log "Docker engine is up after ~${i}s ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
        exit 0
    fi
    if ! kill -0 "$dockerd_pid" 2>/dev/null; then
        log "dockerd (pid $dockerd_pid) exited; last lines of $LOG_FILE:"
        tail -n 40 "$LOG_FILE" >&2 || true
        die "dockerd failed to start"
    fi
    sleep 1
done

log "last lines of $LOG_FILE:"
tail -n 40 "$LOG_FILE" >&2 || true
die "Docker engine did not answer 'docker info' within ${WAIT_SECONDS}s (dockerd pid $dockerd_pid still running)"
