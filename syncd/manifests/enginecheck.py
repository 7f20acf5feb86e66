"""The fields a stack writes that the engine syncd runs against cannot honour, at their
file:line:column (a Compose file's own lines, through its origins).

- engine `docker` (one host): Swarm's fields (`deploy.mode: global`, `placement`, rollout
  tuning, `rollbackConfig`, restart delay and window, `endpointMode`, CPU reservations, a port's
  `mode: ingress`) are warnings: no effect on a Docker host. A fixed host port published by
  several replicas is an error: one host has the port once (and a start-first update of it a
  warning: replaced stop-first).
- engine `swarm`: what a Swarm service (Engine API 1.41, `ServiceSpec` / `ContainerSpec`) cannot
  carry is an error: privileged mode, devices and GPUs, host namespaces and the network mode,
  links, static addresses, a MAC address, cgroup and runtime settings, security options, CPU
  and memory tuning beyond limits and reservations, `shmSize`, `tmpfs`, `domainname`. A
  published port in ingress mode (the default) with `endpointMode: dnsrr` is an error too: Swarm
  refuses it (no virtual IP to route to). A stack's own networks (Compose's top-level
  `networks`) are errors too: the Swarm engine builds only the project's overlay network.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from syncd.manifests.fields import parse_port
from syncd.manifests.model import Stack
from syncd.manifests.parse import Located
from syncd.manifests.yamlsafe import Path
from syncd.problems import Problem, Severity
from syncd.settings import EngineKind

ON_DOCKER = "is for Swarm: no effect on a Docker host"
_ROLLOUT = ("parallelism", "delay", "failureAction", "monitor", "maxFailureRatio")

# native field -> why a Swarm service cannot have it (Engine API 1.41)
SINGLE_HOST: dict[str, str] = {
    "privileged": "a Swarm service cannot run privileged",
    "devices": "a Swarm service cannot map host devices",
    "deviceCgroupRules": "a Swarm service has no device cgroup rules",
    "gpus": "a Swarm service has no device requests (use node generic resources)",
    "networkMode": "a Swarm service joins networks (`networks`), not a network mode",
    "links": "a Swarm service has no links: services find each other by name",
    "pid": "a Swarm service cannot share a PID namespace",
    "ipc": "a Swarm service cannot share an IPC namespace",
    "uts": "a Swarm service cannot use the host's UTS namespace",
    "usernsMode": "a Swarm service has no user namespace mode",
    "cgroup": "a Swarm service has no cgroup namespace mode",
    "cgroupParent": "a Swarm service has no cgroup parent",
    "runtime": "a Swarm service runs with the node's default runtime",
    "securityOpt": "a Swarm service has no security options (Engine API 1.41)",
    "shmSize": "a Swarm service has no shm size (mount a tmpfs volume at /dev/shm)",
    "tmpfs": "a Swarm service has no tmpfs list: use a volume of type tmpfs",
    "memswapLimit": "a Swarm service has no swap limit",
    "memSwappiness": "a Swarm service has no swappiness",
    "cpuShares": "a Swarm service has no CPU shares: use deploy.resources",
    "cpuset": "a Swarm service has no cpuset",
    "cpuQuota": "a Swarm service has no CPU quota: use deploy.resources.limits.cpus",
    "cpuPeriod": "a Swarm service has no CPU period: use deploy.resources.limits.cpus",
    "cpuRtRuntime": "a Swarm service has no realtime CPU settings",
    "cpuRtPeriod": "a Swarm service has no realtime CPU settings",
    "oomScoreAdj": "a Swarm service has no OOM score",
    "oomKillDisable": "a Swarm service cannot disable the OOM killer",
    "storageOpt": "a Swarm service has no storage options",
    "blkioConfig": "a Swarm service has no block IO limits",
    "domainname": "a Swarm service has no domain name",
    "macAddress": "a Swarm service has no fixed MAC address",
}
_STATIC = ("ipv4Address", "ipv6Address", "linkLocalIps")


def _on_docker(name: str, service: Mapping[str, Any]) -> Iterator[tuple[Path, str]]:
    base: Path = ("services", name)
    deploy: Mapping[str, Any] = service.get("deploy") or {}
    if deploy.get("mode") not in (None, "replicated"):
        yield (*base, "deploy", "mode"), f"deploy.mode {deploy['mode']} {ON_DOCKER}"
    for key in ("placement", "rollbackConfig", "endpointMode"):
        if key in deploy:
            yield (*base, "deploy", key), f"deploy.{key} {ON_DOCKER}"
    update = deploy.get("updateConfig") or {}
    for key in _ROLLOUT:
        if key in update:
            yield (*base, "deploy", "updateConfig", key), f"deploy.updateConfig.{key} {ON_DOCKER}"
    restart = deploy.get("restartPolicy") or {}
    for key in ("delay", "window"):
        if key in restart:
            yield (*base, "deploy", "restartPolicy", key), f"deploy.restartPolicy.{key} {ON_DOCKER}"
    reserved = (deploy.get("resources") or {}).get("reservations") or {}
    if "cpus" in reserved:
        at = (*base, "deploy", "resources", "reservations", "cpus")
        yield at, f"deploy.resources.reservations.cpus {ON_DOCKER}"
    for port, mode in (deploy.get("portModes") or {}).items():
        if mode == "ingress":
            yield (
                (*base, "deploy", "portModes", port),
                f"port {port} mode ingress is Swarm's routing mesh: a Docker host publishes "
                "the port on itself (mode host)",
            )


def _fixed_ports(name: str, service: Mapping[str, Any]) -> Iterator[tuple[Path, str, Severity]]:
    """A fixed published host port belongs to one container on one host: not to several
    replicas (an error), nor to the old and the new container of a start-first update (a
    warning: replaced stop-first, `core.updateorder`)."""
    fixed = [p for p in service.get("ports") or [] if parse_port(p).fixed]
    deploy: Mapping[str, Any] = service.get("deploy") or {}
    replicas = deploy.get("replicas") or 1
    if fixed and replicas > 1:
        yield (
            ("services", name, "deploy", "replicas"),
            f"{replicas} replicas cannot all publish host port {fixed[0]!r}: publish a "
            "container port only or run one replica",
            Severity.ERROR,
        )
    order: Path = ("services", name, "deploy", "updateConfig", "order")
    if service.get("update") == "start-first":  # the short form
        order = ("services", name, "update")
    elif (deploy.get("updateConfig") or {}).get("order") != "start-first":
        return
    if fixed:
        yield (
            order,
            f"start-first needs the old and the new container at once, but host port "
            f"{fixed[0]!r} can be published by one only: replaced stop-first, with downtime",
            Severity.WARNING,
        )


def _on_swarm(name: str, service: Mapping[str, Any]) -> Iterator[tuple[Path, str]]:
    base: Path = ("services", name)
    for key, why in SINGLE_HOST.items():
        if service.get(key) not in (None, False, [], {}):
            yield (*base, key), f"{key}: {why}"
    deploy: Mapping[str, Any] = service.get("deploy") or {}
    reserved = (deploy.get("resources") or {}).get("reservations") or {}
    if reserved.get("devices"):
        at = (*base, "deploy", "resources", "reservations", "devices")
        yield at, "reservations.devices: a Swarm service has no device requests"
    for network, given in (service.get("networks") or {}).items():
        for key in _STATIC:
            if isinstance(given, Mapping) and given.get(key):
                at = (*base, "networks", network, key)
                yield at, f"{key}: Swarm gives each task its address; no static address"
    if deploy.get("endpointMode") == "dnsrr":
        modes = deploy.get("portModes") or {}
        for index, port in enumerate(service.get("ports") or []):
            spec = parse_port(port)
            mode = next((m for p, m in modes.items() if parse_port(p) == spec), "ingress")
            if spec.published and mode != "host":
                yield (
                    (*base, "ports", index),
                    f"port {port} is published in ingress mode, which needs a virtual IP: "
                    "with endpointMode dnsrr, publish it with mode host (deploy.portModes)",
                )


def engine_problems(engine: EngineKind, located: Located[Stack]) -> list[Problem]:
    """What `located`'s services write that `engine` cannot honour, at their lines: warnings
    (no effect) and errors (refused)."""
    body = located.manifest.model_dump(by_alias=True, exclude_unset=True, mode="json")
    problems: list[Problem] = []
    if engine is EngineKind.SWARM:  # not built for Swarm yet: refused, never half-honoured
        for network in body.get("networks") or {}:
            why = ("the Swarm engine joins every service to the project's overlay network only; "
                   "a stack's own networks (aliases, internal, ipam, external) are not built on "
                   "Swarm yet")  # fmt: skip
            problems.append(located.problem(("networks", network), why, key=True))
    for name, service in (body.get("services") or {}).items():
        if engine is EngineKind.SWARM:
            problems += [located.problem(at, why, key=True) for at, why in _on_swarm(name, service)]
            continue
        found = [(at, why, Severity.WARNING) for at, why in _on_docker(name, service)]
        for at, why, severity in [*found, *_fixed_ports(name, service)]:
            problem = located.problem(at, why, key=True)  # at the field's name
            problems.append(replace(problem, severity=severity))
    return problems
