"""A `ContainerRequest` and its Swarm deployment -> the ServiceSpec the Engine API stores.

Pure: no I/O. The spec is the raw API JSON (`POST /services/create`, `/services/{id}/update`),
every value syncd sends made explicit, so that `normalise` of what Swarm stores equals
`normalise` of what syncd sent, and a service nobody changed is never written again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from syncd.engine.base import LABEL_PREFIX, ContainerRequest, Mount, Names, owner_labels
from syncd.engine.base import LABEL_VOLUME as _LABEL_VOLUME

NANO = 1_000_000_000
LABEL_DIGEST = "syncd.swarmspec"  # the digest of the normalised spec syncd sent (drift check)
LABEL_REPLICAS = "syncd.replicas"  # the replicas the manifest declared (one ObservedContainer each)
FILE_TOKEN = "swarm-file:"  # a mount source standing for a Swarm config or secret (`FileRef`)
# What Swarm fills in by itself when a spec leaves it out (besides zero values).
SWARM_DEFAULTS = {"Isolation": "default", "Runtime": "container"}


@dataclass(frozen=True)
class UpdatePolicy:
    """`deploy.update_config` / `rollback_config`: durations in seconds."""

    parallelism: int = 1
    delay: float = 0.0
    failure_action: str = "pause"  # continue | rollback | pause
    monitor: float = 5.0
    max_failure_ratio: float = 0.0
    order: str = "stop-first"  # stop-first | start-first


@dataclass(frozen=True)
class SwarmDeploy:
    """How a service runs on Swarm (the `deploy` fields), with syncd's defaults: a failed
    rolling update rolls back."""

    replicas: int = 1
    global_mode: bool = False  # one task per node (`deploy.mode: global`)
    update: UpdatePolicy = UpdatePolicy(failure_action="rollback")
    rollback: UpdatePolicy = UpdatePolicy(failure_action="pause")
    constraints: tuple[str, ...] = ()
    spread: tuple[str, ...] = ()  # placement preferences: spread over these node labels
    max_replicas_per_node: int = 0  # 0: no limit
    endpoint_mode: str = "vip"  # vip | dnsrr
    reserve_nano_cpus: int = 0
    reserve_memory: int = 0
    restart_condition: str = "any"  # none | on-failure | any
    restart_delay: float = 5.0
    restart_max_attempts: int = 0  # 0: no limit
    restart_window: float = 0.0
    port_modes: Mapping[int, str] = field(default_factory=dict)  # container port -> host|ingress


@dataclass(frozen=True)
class FileRef:
    """A Swarm config or secret made from a file's content, mounted at a mount's target."""

    secret: bool
    name: str
    id: str
    uid: str = "0"
    gid: str = "0"
    mode: int = 0o444


def _ns(seconds: float) -> int:
    return round(seconds * NANO)


def _policy(policy: UpdatePolicy) -> dict[str, Any]:
    return {
        "Parallelism": policy.parallelism,
        "Delay": _ns(policy.delay),
        "FailureAction": policy.failure_action,
        "Monitor": _ns(policy.monitor),
        "MaxFailureRatio": policy.max_failure_ratio,
        "Order": policy.order,
    }


def _mount(mount: Mount, names: Names, request: ContainerRequest) -> dict[str, Any]:
    out: dict[str, Any] = {"Target": mount.target, "ReadOnly": mount.read_only}
    if mount.tmpfs:
        tmpfs = {"SizeBytes": mount.tmpfs_size or 0, "Mode": mount.tmpfs_mode or 0}
        return {**out, "Type": "tmpfs", "TmpfsOptions": tmpfs}
    if mount.bind:
        bind = {"Propagation": mount.propagation} if mount.propagation else {}
        return {**out, "Type": "bind", "Source": mount.source, "BindOptions": bind}
    if mount.external:
        return {**out, "Type": "volume", "Source": mount.source}
    stack = request.key.stack_key
    labels = {**owner_labels(names.instance, stack), _LABEL_VOLUME: mount.source}
    options = {"NoCopy": mount.no_copy, "Labels": labels}
    source = names.volume(stack.volume(mount.source))
    return {**out, "Type": "volume", "Source": source, "VolumeOptions": options}


def _file(ref: FileRef, target: str) -> dict[str, Any]:
    kind = "Secret" if ref.secret else "Config"
    file: dict[str, Any] = {"Name": target, "UID": ref.uid, "GID": ref.gid, "Mode": ref.mode}
    return {"File": file, f"{kind}ID": ref.id, f"{kind}Name": ref.name}


def _hosts(extra: list[str]) -> list[str]:
    """`host:ip` (Compose) -> `ip host` (hosts(5), as Swarm takes them)."""
    out = []
    for entry in extra:
        host, _, address = entry.partition(":")
        out.append(f"{address} {host}")
    return out


def _container(
    request: ContainerRequest, names: Names, files: Mapping[str, FileRef]
) -> dict[str, Any]:
    options = request.options
    env = sorted(f"{k}={v}" for k, v in request.environment.items())
    spec: dict[str, Any] = {
        "Image": request.image,
        "Labels": dict(request.labels),
        "Env": env,
        "StopGracePeriod": request.stop_timeout * NANO,
        "Init": bool(options.get("init")),
        "TTY": bool(options.get("tty")),
        "OpenStdin": bool(options.get("stdinOpen")),
        "ReadOnly": bool(options.get("readOnly")),
    }
    if request.entrypoint is not None:
        spec["Command"] = list(request.entrypoint)
    if request.command is not None:
        spec["Args"] = list(request.command)
    for name, key in (("user", "User"), ("workingDir", "Dir"), ("hostname", "Hostname"),
                      ("stopSignal", "StopSignal")):  # fmt: skip
        if options.get(name):
            spec[key] = str(options[name])
    for name, key in (("capAdd", "CapabilityAdd"), ("capDrop", "CapabilityDrop"),
                      ("groupAdd", "Groups")):  # fmt: skip
        if options.get(name):
            spec[key] = list(options[name])
    if options.get("sysctls"):
        spec["Sysctls"] = dict(options["sysctls"])
    if options.get("extraHosts"):
        spec["Hosts"] = _hosts(list(options["extraHosts"]))
    dns = {"Nameservers": "dns", "Search": "dnsSearch", "Options": "dnsOpt"}
    if any(options.get(v) for v in dns.values()):
        spec["DNSConfig"] = {k: list(options.get(v) or []) for k, v in dns.items()}
    if request.healthcheck is not None:
        probe = request.healthcheck
        spec["Healthcheck"] = {
            "Test": list(probe.test),
            "Interval": _ns(probe.interval),
            "Timeout": _ns(probe.timeout),
            "StartPeriod": _ns(probe.start_period),
            "Retries": probe.retries,
        }
    mounts: list[dict[str, Any]] = []
    configs: list[dict[str, Any]] = []
    secrets: list[dict[str, Any]] = []
    for mount in request.mounts:
        ref = files.get(mount.source) if mount.source.startswith(FILE_TOKEN) else None
        if ref is None:
            mounts.append(_mount(mount, names, request))
        else:
            (secrets if ref.secret else configs).append(_file(ref, mount.target))
    spec["Mounts"], spec["Configs"], spec["Secrets"] = mounts, configs, secrets
    return spec


def service_spec(
    request: ContainerRequest,
    deploy: SwarmDeploy,
    names: Names,
    network_id: str,
    files: Mapping[str, FileRef],
) -> dict[str, Any]:
    """The whole ServiceSpec; its labels end with the digest of the rest (`LABEL_DIGEST`)."""
    limits = {"NanoCPUs": request.nano_cpus or 0, "MemoryBytes": request.memory or 0}
    reserve = {"NanoCPUs": deploy.reserve_nano_cpus, "MemoryBytes": deploy.reserve_memory}
    placement: dict[str, Any] = {
        "Constraints": list(deploy.constraints),
        "Preferences": [{"Spread": {"SpreadDescriptor": s}} for s in deploy.spread],
        "MaxReplicas": deploy.max_replicas_per_node,
    }
    ports = [
        {
            "Protocol": port.protocol,
            "TargetPort": port.container,
            "PublishedPort": 0 if port.ephemeral else port.public,
            "PublishMode": deploy.port_modes.get(port.container, "ingress"),
        }
        for port in request.ports
        if port.public is not None or port.ephemeral
    ]
    mode = {"Global": {}} if deploy.global_mode else {"Replicated": {"Replicas": deploy.replicas}}
    labels = {**request.labels, LABEL_REPLICAS: str(deploy.replicas)}
    spec: dict[str, Any] = {
        "Name": names.container(request.key),
        "Labels": labels,
        "TaskTemplate": {
            "ContainerSpec": _container(request, names, files),
            "Resources": {"Limits": limits, "Reservations": reserve},
            "RestartPolicy": {
                "Condition": deploy.restart_condition,
                "Delay": _ns(deploy.restart_delay),
                "MaxAttempts": deploy.restart_max_attempts,
                "Window": _ns(deploy.restart_window),
            },
            "Placement": placement,
            "Networks": [{"Target": network_id, "Aliases": [request.key.name]}],
            "ForceUpdate": 0,
        },
        "Mode": mode,
        "UpdateConfig": _policy(deploy.update),
        "RollbackConfig": _policy(deploy.rollback),
        "EndpointSpec": {"Mode": deploy.endpoint_mode, "Ports": ports},
    }
    labels[LABEL_DIGEST] = digest(spec)
    return spec


def normalise(value: Any) -> Any:
    """The spec as Swarm stores it, minus what Swarm adds: zero values ({} [] "" 0 False
    None) left out, Swarm's own defaults (`SWARM_DEFAULTS`) left out, our digest label out."""
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if key == LABEL_DIGEST or SWARM_DEFAULTS.get(key, object()) == item:
                continue
            if key == "Global":  # `{"Global": {}}`: the mode itself, never a zero value
                out[key] = True
                continue
            kept = normalise(item)
            if kept not in ({}, [], "", 0, False, None):
                out[key] = kept
        return out
    if isinstance(value, list):
        return [normalise(v) for v in value]
    return value


def digest(spec: Mapping[str, Any]) -> str:
    """sha256 of the normalised spec's canonical JSON (first 32 hex digits)."""
    text = json.dumps(normalise(spec), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def drifted(spec: Mapping[str, Any]) -> bool:
    """Whether a stored spec differs from the one syncd sent (its digest label): changed by
    hand, or scaled."""
    labels = spec.get("Labels") or {}
    sent = labels.get(LABEL_DIGEST)
    return sent is not None and sent != digest(spec)


def syncd_labels(labels: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in labels.items() if k.startswith(LABEL_PREFIX)}
