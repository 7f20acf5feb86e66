"""A desired service's canonical spec -> how it runs on Swarm (`engine.swarmspec.SwarmDeploy`).

`deploy_of` is the one place the Swarm fields are read: the replicas, the update order, and the
`swarm` key of the canonical spec (`deploy.mode`, `placement`, `updateConfig`,
`rollbackConfig`, `restartPolicy`, `endpointMode`, `resources.reservations`, port modes, in the
camelCase of the shared model), each with syncd's default where it is not set.
Durations are seconds, or Go/Compose duration text (`10s`, `1m30s`, `500ms`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from syncd.engine.swarmspec import NANO, SwarmDeploy, UpdatePolicy

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")


def seconds(value: Any, default: float) -> float:
    """`10`, `2.5`, `"10s"`, `"1m30s"` -> seconds; None -> `default`."""
    if value is None:
        return default
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        try:
            return float(text)
        except ValueError:
            return default
    return sum(float(n) * _UNITS[u] for n, u in parts)


def _policy(given: Any, default: UpdatePolicy) -> UpdatePolicy:
    if not isinstance(given, Mapping):
        return default
    return UpdatePolicy(
        parallelism=int(given.get("parallelism", default.parallelism)),
        delay=seconds(given.get("delay"), default.delay),
        failure_action=str(given.get("failureAction") or default.failure_action),
        monitor=seconds(given.get("monitor"), default.monitor),
        max_failure_ratio=float(given.get("maxFailureRatio") or default.max_failure_ratio),
        order=str(given.get("order") or default.order),
    )


def _memory(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    match = re.fullmatch(r"(\d+)\s*([kmg]?)b?", str(value).strip().lower())
    if not match:
        return 0
    return int(match[1]) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[match[2]]


def _port_modes(spec: Mapping[str, Any], swarm: Mapping[str, Any]) -> dict[int, str]:
    modes: dict[int, str] = {}
    for entry in swarm.get("portModes") or []:
        if isinstance(entry, Mapping) and "target" in entry:
            modes[int(entry["target"])] = str(entry.get("mode") or "ingress")
    for raw in spec.get("ports") or []:
        if isinstance(raw, Mapping) and raw.get("mode") and "target" in raw:
            modes[int(raw["target"])] = str(raw["mode"])
    return modes


def deploy_of(spec: Mapping[str, Any]) -> SwarmDeploy:
    """How the service runs on Swarm, from its canonical spec."""
    swarm: Mapping[str, Any] = spec.get("swarm") or {}
    base = SwarmDeploy()
    order = str(spec.get("updateOrder") or base.update.order)
    first = UpdatePolicy(failure_action="rollback", order=order)
    update = _policy(swarm.get("updateConfig"), first)
    placement: Mapping[str, Any] = swarm.get("placement") or {}
    restart: Mapping[str, Any] = swarm.get("restartPolicy") or {}
    reserve: Mapping[str, Any] = swarm.get("reservations") or (
        (swarm.get("resources") or {}).get("reservations") or {}
    )
    cpus = reserve.get("cpus")
    spread = [
        str(p.get("spread")) for p in placement.get("preferences") or [] if isinstance(p, Mapping)
    ]
    return SwarmDeploy(
        replicas=int(spec.get("replicas", 1)),
        global_mode=swarm.get("mode") == "global",
        update=update,
        rollback=_policy(swarm.get("rollbackConfig"), base.rollback),
        constraints=tuple(str(c) for c in placement.get("constraints") or []),
        spread=tuple(spread),
        max_replicas_per_node=int(placement.get("maxReplicasPerNode") or 0),
        endpoint_mode=str(swarm.get("endpointMode") or base.endpoint_mode),
        reserve_nano_cpus=int(Decimal(str(cpus)) * NANO) if cpus is not None else 0,
        reserve_memory=_memory(reserve.get("memory")),
        restart_condition=str(restart.get("condition") or base.restart_condition),
        restart_delay=seconds(restart.get("delay"), base.restart_delay),
        restart_max_attempts=int(restart.get("maxAttempts") or 0),
        restart_window=seconds(restart.get("window"), base.restart_window),
        port_modes=_port_modes(spec, swarm),
    )
