#!/usr/bin/env bash
# Remove the test swarm of scripts/ensure-swarm.sh completely (idempotent).
#
# Touches only what ensure-swarm.sh made: the node dockerds (found by /run/swnI/docker.pid and
# checked by their socket) and whatever still runs in their cgroups /swnI or netns swnI, the
# netns swn0..swn9, the host veth swF-root, the registry listener on 10.213.0.1:5555,
# /run/swnI and $SWN_BASE (default /tmp/syncd-swarm). Never the host's dockerd or registry.
set -uo pipefail

BASE="${SWN_BASE:-/tmp/syncd-swarm}"
T0="$(date +%s.%N)"
log() { printf '[swarm-down] %s\n' "$*" >&2; }
our_pid() { # our_pid PIDFILE PATTERN: the pid in PIDFILE if that process's command line matches
    local pid
    pid="$(cat "$1" 2>/dev/null || true)"
    [[ -n "$pid" ]] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q -- "$2" && echo "$pid"
}
our_dockerd() { our_pid "/run/swn$1/docker.pid" "^dockerd .*-H unix:///run/swn$1/docker.sock"; }

[[ "$BASE" == /?*/?* ]] || { log "ERROR: SWN_BASE=$BASE is not a directory of its own"; exit 1; }
exec 9>"${TMPDIR:-/tmp}/syncd-ensure-swarm.lock"
flock -w 300 9 || log "WARNING: ensure-swarm.sh holds its lock; going on"
nodes="$( (ls -d /run/swn[1-9] 2>/dev/null | sed 's#^/run/swn##'
    ip netns list | sed -n 's/^swn\([1-9]\)\b.*/\1/p') | sort -u)"

# 1. each node's dockerd stops its containers and containerd; a dockerd that hangs is killed
for i in $nodes; do
    pid="$(our_dockerd "$i")" && kill -TERM "$pid" && log "stopping dockerd of swn$i (pid $pid)"
done
for i in $nodes; do
    for _ in $(seq 1 60); do our_dockerd "$i" >/dev/null || break; sleep 0.5; done
    pid="$(our_dockerd "$i")" && kill -KILL "$pid" && log "killed dockerd of swn$i (pid $pid)"
done

# 2. leftovers (task containers of a node whose dockerd had died), then their cgroups
for i in $nodes; do
    find /sys/fs/cgroup/*/"swn$i" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -KILL
    ip netns pids "swn$i" 2>/dev/null | xargs -r kill -KILL
done
sleep 0.3
for i in $nodes; do
    find /sys/fs/cgroup/*/"swn$i" -depth -type d -exec rmdir {} + 2>/dev/null
done

# 3. the registry listener, the network (node veths go with their namespaces)
pid="$(our_pid "$BASE/registry.pid" "serve $BASE/registry.yml")" && kill "$pid" &&
    log "stopped the registry listener (pid $pid)"
for i in $nodes 0; do ip netns del "swn$i" 2>/dev/null && log "deleted netns swn$i"; done
ip link del swF-root 2>/dev/null && log "deleted veth swF-root"

# 4. state (the nodes' mounts lived in their dockerds' own mount namespaces, gone with them)
awk -v base="$BASE" '$5 ~ "^(/run/swn[0-9]|" base ")" {print $5}' /proc/self/mountinfo |
    sort -r | xargs -r -n1 umount -l
for i in $nodes; do rm -rf "/run/swn$i"; done
rm -rf "$BASE"
log "swarm removed in $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N)-$T0}") s"
