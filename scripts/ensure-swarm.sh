#!/usr/bin/env bash
# Ensure the 3-node Docker Swarm that syncd's swarm tests run on (idempotent; repairs).
#
# The whole swarm lives on this one machine, next to (never inside) the host's dockerd:
#   netns swn0   the hub: bridge swbr0, with bridge netfilter off in it, so the host's
#                FORWARD policy (DROP) never sees traffic between the nodes
#   netns swnI   node I: eth0 = 10.213.0.1I/24 on the hub, no default route
#   swF-root     host side of the hub, 10.213.0.1/24: the host reaches every node
#   dockerd I    socket unix:///run/swnI/docker.sock, pidfile /run/swnI/docker.pid,
#                exec-root /run/swnI/x, data-root $SWN_BASE/swnI/data, containerd
#                namespace swnI, cgroup parent /swnI, own engine key; runs in its own
#                mount + UTS namespace (hostname swnI, /sys remounted for its netns,
#                the host's cgroup tree bound back over it)
# swn1 is the manager, the others are workers. The manager's DOCKER_HOST is written to
# $SWN_BASE/env. busybox:1.36 is copied from the host engine into every node (same image ID).
# When the test registry of scripts/ensure-registry.sh runs (127.0.0.1:5555), a second
# docker-registry process serves the same storage and htpasswd on 10.213.0.1:5555, which
# every node lists in `insecure-registries`: a service's image can come from there.
# No ip_vs in this kernel: no ingress routing mesh, no `vip` endpoint mode (use dnsrr and
# `mode: host` ports).
#
# Re-running it is a fast no-op on a healthy swarm; a node whose dockerd died is started
# again and rejoins; a node that lost its swarm membership joins again.
# Env: SWN_BASE (default /tmp/syncd-swarm), SWN_NODES (default 3), SYNCD_TEST_IMAGE.
# Needs root (network namespaces); `scripts/swarm-down.sh` removes everything again.
set -euo pipefail

N="${SWN_NODES:-3}"
BASE="${SWN_BASE:-/tmp/syncd-swarm}"
NET=10.213.0
IMAGE="${SYNCD_TEST_IMAGE:-busybox:1.36}"
REGISTRY_STATE=/var/lib/syncd-test-registry # owned by scripts/ensure-registry.sh
REGISTRY="$NET.1:5555"
LOCK_FILE="${TMPDIR:-/tmp}/syncd-ensure-swarm.lock"
T0="$(date +%s.%N)"

log() { printf '[ensure-swarm] %s\n' "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}
dk() { # dk I ARGS: the docker CLI against node I
    local i="$1"
    shift
    timeout 30 docker -H "unix:///run/swn$i/docker.sock" "$@"
}
api() { # api I PATH: GET on node I's Engine API (fast: no docker CLI start-up)
    curl -sf --max-time 10 --unix-socket "/run/swn$1/docker.sock" "http://swn$1$2"
}
answers() { api "$1" /_ping >/dev/null 2>&1; }
image_id() { api "$1" "/images/$IMAGE/json" | grep -o '"Id":"sha256:[0-9a-f]*"' | cut -d'"' -f4; }
our_pid() { # our_pid PIDFILE PATTERN: the pid in PIDFILE if that process's command line matches
    local pid
    pid="$(cat "$1" 2>/dev/null || true)"
    [[ -n "$pid" ]] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q -- "$2" && echo "$pid"
}
detach() { # detach LOG CMD...: run CMD in the background, for good, with no descriptor but
    # 0-2 (a lock held by whoever ran this script must not live on in a daemon)
    local log="$1"
    shift
    (
        for fd in $(ls /proc/$BASHPID/fd); do ((fd <= 2)) || eval "exec $fd>&-"; done
        exec setsid nohup "$@" </dev/null >>"$log" 2>&1
    ) &
}
our_dockerd() { our_pid "/run/swn$1/docker.pid" "^dockerd .*-H unix:///run/swn$1/docker.sock"; }
daemon_json() {
    printf '{"deprecated-key-path": "%s"' "$BASE/swn$1/key.json"
    [[ -z "$registry" ]] || printf ', "insecure-registries": ["%s"]' "$REGISTRY"
    printf '}\n'
}
registry_conf() {
    cat <<EOF
# Written by scripts/ensure-swarm.sh: the test registry's storage and users, for the nodes.
# htpasswd sha256 $(sha256sum <"$REGISTRY_STATE/htpasswd" | cut -c1-64)
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $REGISTRY_STATE/data}
  delete: {enabled: true}
http: {addr: $REGISTRY, secret: syncd-test-registry-not-a-secret}
auth:
  htpasswd: {realm: syncd-test-registry, path: $REGISTRY_STATE/htpasswd}
EOF
}
registry_up() {
    [[ "$(registry_conf)" == "$(cat "$BASE/registry.yml" 2>/dev/null)" ]] &&
        our_pid "$BASE/registry.pid" "serve $BASE/registry.yml" >/dev/null
}
healthy() { # everything in place: nothing to do
    ip link show swF-root >/dev/null 2>&1 || return 1
    [[ -z "$registry" ]] || registry_up || return 1
    local i
    for i in $(seq 1 "$N"); do
        [[ "$(cat "$BASE/swn$i/daemon.json" 2>/dev/null)" == "$(daemon_json "$i")" ]] || return 1
        [[ "$(image_id "$i")" == "$want" ]] || return 1
    done
    [[ "$(api 1 /nodes | grep -o '"State":"ready"' | wc -l)" -ge "$N" ]] || return 1
    [[ -f "$BASE/env" ]]
}
done_in() {
    log "swarm of $N nodes Ready$1 in $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N)-$T0}") s" \
        "(DOCKER_HOST=unix:///run/swn1/docker.sock; registry for the nodes: ${registry:-none})"
}

[[ "$(id -u)" -eq 0 ]] || die "needs root (network namespaces, a dockerd per node)"
[[ "$N" =~ ^[1-9]$ ]] || die "SWN_NODES must be 1..9, not '$N'"
want="$(docker image inspect "$IMAGE" --format '{{.Id}}' 2>/dev/null)" ||
    die "$IMAGE is missing from the host engine; run scripts/ensure-docker.sh + ensure-test-image.sh"
registry=""
[[ -s "$REGISTRY_STATE/htpasswd" ]] && command -v docker-registry >/dev/null && registry="$REGISTRY"
[[ -n "$registry" ]] || log "no test registry in $REGISTRY_STATE (scripts/ensure-registry.sh): nodes get none"
mkdir -p "$BASE"
exec 9>"$LOCK_FILE"
flock -w 300 9 || die "could not acquire $LOCK_FILE"
if healthy; then
    done_in " already"
    exit 0
fi

# --- 1. network: hub, host side, one namespace per node -----------------------------------
ip netns list | grep -qw swn0 || ip netns add swn0
ip netns exec swn0 sh -c 'for t in iptables ip6tables arptables; do
    f=/proc/sys/net/bridge/bridge-nf-call-$t; [ ! -e "$f" ] || echo 0 >"$f"; done'
ip -n swn0 link set lo up
ip -n swn0 link show swbr0 >/dev/null 2>&1 || ip -n swn0 link add swbr0 type bridge
ip -n swn0 link set swbr0 up
ip link show swF-root >/dev/null 2>&1 || ip link add swF-root type veth peer name root netns swn0
ip -n swn0 link set root master swbr0 up
ip addr replace "$NET.1/24" dev swF-root
ip link set swF-root up
for i in $(seq 1 "$N"); do
    ip netns list | grep -qw "swn$i" || ip netns add "swn$i"
    if ! ip -n "swn$i" link show eth0 >/dev/null 2>&1; then
        ip -n swn0 link del "n$i" 2>/dev/null || true
        ip link add "n$i" netns swn0 type veth peer name eth0 netns "swn$i"
    fi
    ip -n swn0 link set "n$i" master swbr0 up
    ip -n "swn$i" link set lo up
    ip -n "swn$i" addr replace "$NET.1$i/24" dev eth0
    ip -n "swn$i" link set eth0 up
done

# --- 2. the registry's second listener, on the hub address --------------------------------
if [[ -n "$registry" ]] && ! registry_up; then
    pid="$(our_pid "$BASE/registry.pid" "serve $BASE/registry.yml" || true)"
    if [[ -n "$pid" ]]; then
        kill "$pid" && log "registry config changed: restarting it"
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null && sleep 0.1 || break; done
    fi
    registry_conf >"$BASE/registry.yml"
    detach "$BASE/registry.log" docker-registry serve "$BASE/registry.yml"
    echo $! >"$BASE/registry.pid"
    log "registry listener on $REGISTRY (pid $!)"
fi

# --- 3. one dockerd per node ----------------------------------------------------------------
for i in $(seq 1 "$N"); do
    mkdir -p "$BASE/swn$i/data" "/run/swn$i"
    json="$(daemon_json "$i")"
    pid="$(our_dockerd "$i" || true)"
    if [[ "$(cat "$BASE/swn$i/daemon.json" 2>/dev/null || true)" != "$json" ]]; then
        echo "$json" >"$BASE/swn$i/daemon.json"
        # insecure-registries is reloadable: a running node rereads its file on SIGHUP
        [[ -z "$pid" ]] || { kill -HUP "$pid" && log "swn$i: daemon.json changed, reloaded"; }
    fi
    if answers "$i"; then continue; fi
    if [[ -n "$pid" ]]; then continue; fi # starting: waited for below
    rm -f "/run/swn$i/docker.pid"
    log "starting dockerd of swn$i (log $BASE/swn$i/dockerd.log)"
    # Swarm tries a pull before each task starts (here it fails at once for anything but the
    # test registry, and the node's own image is used; DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1
    # would skip that pull, and so any image from the registry)
    detach "$BASE/swn$i/dockerd.log" \
        nsenter --net="/run/netns/swn$i" unshare --mount --uts --propagation slave env -u DOCKER_SERVICE_PREFER_OFFLINE_IMAGE sh -c '
        set -e; i=$1; B=$2
        hostname "swn$i"
        mkdir -p "/run/swn$i/.cg"
        mount --rbind /sys/fs/cgroup "/run/swn$i/.cg"
        mount -t sysfs sysfs /sys
        mount --rbind "/run/swn$i/.cg" /sys/fs/cgroup
        umount -l "/run/swn$i/.cg"
        exec dockerd --config-file "$B/swn$i/daemon.json" -H "unix:///run/swn$i/docker.sock" \
            --pidfile "/run/swn$i/docker.pid" --exec-root "/run/swn$i/x" \
            --data-root "$B/swn$i/data" --containerd-namespace "swn$i" \
            --containerd-plugins-namespace "swn$i-plugins" --cgroup-parent "/swn$i" \
            --bridge=none --storage-driver=overlay2' _ "$i" "$BASE"
done
for i in $(seq 1 "$N"); do
    for _ in $(seq 1 120); do answers "$i" && break || sleep 0.5; done
    answers "$i" || {
        tail -n 20 "$BASE/swn$i/dockerd.log" >&2
        die "dockerd of swn$i does not answer on /run/swn$i/docker.sock"
    }
done

# --- 4. the test image, the host engine's own (same image ID on every node) --------------
for i in $(seq 1 "$N"); do
    old="$(image_id "$i" || true)"
    [[ "$old" == "$want" ]] && continue
    tar="$BASE/image-${want#sha256:}.tar"
    [[ -s "$tar" ]] || { docker save "$IMAGE" >"$tar.new" && mv "$tar.new" "$tar"; }
    dk "$i" load -q -i "$tar" >/dev/null
    log "swn$i: loaded $IMAGE from the host engine"
    [[ -z "$old" ]] || dk "$i" image rm "$old" >/dev/null 2>&1 || true # unless a container uses it
done

# --- 5. the swarm: swn1 manager, the others workers ----------------------------------------
state() { dk "$1" info --format '{{.Swarm.LocalNodeState}} {{.Swarm.NodeID}}'; }
read -r st1 id1 < <(state 1)
if [[ "$st1" != active ]]; then
    dk 1 swarm init --advertise-addr "$NET.11" --listen-addr "$NET.11:2377" >/dev/null
    read -r st1 id1 < <(state 1)
    log "swarm initialised on swn1"
fi
members="$(dk 1 node ls -q)"
ids="$id1"
for i in $(seq 2 "$N"); do
    read -r st id < <(state "$i")
    if [[ "$st" != active ]] || ! grep -qx "$id" <<<"$members"; then
        [[ "$st" == inactive ]] || dk "$i" swarm leave --force >/dev/null 2>&1 || true
        dk "$i" swarm join --token "$(dk 1 swarm join-token -q worker)" \
            --advertise-addr "$NET.1$i" --listen-addr "$NET.1$i:2377" "$NET.11:2377" >/dev/null
        read -r st id < <(state "$i")
        log "swn$i joined the swarm"
    fi
    ids+=" $id"
done
# entries of nodes that left (a node that rejoined has a new ID) would only confuse the tests
for stale in $(grep -vxF -f <(tr ' ' '\n' <<<"$ids") <<<"$members" || true); do
    dk 1 node rm --force "$stale" >/dev/null && log "removed stale node entry $stale"
done
ready=0
for _ in $(seq 1 120); do
    ready="$(dk 1 node ls --format '{{.ID}} {{.Status}}' | grep -c ' Ready$' || true)"
    [[ "$ready" -ge "$N" ]] && break
    sleep 0.5
done
[[ "$ready" -ge "$N" ]] || { dk 1 node ls >&2; die "only $ready of $N nodes are Ready"; }
echo "export DOCKER_HOST=unix:///run/swn1/docker.sock" >"$BASE/env"
done_in ""
