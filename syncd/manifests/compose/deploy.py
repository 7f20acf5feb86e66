"""`deploy` (resources, replicas, update order, restart policy, Swarm's parts) and the legacy
resource keys (`mem_limit`, `cpus`, ...), as syncd's `Stack` model takes them (`deploy.resources.
limits.{cpus,memory}`, `restartPolicy`).

Legacy keys and `deploy.resources` name one value: both given and different is an error (as
compose-go), else they fold into one. Swarm's parts (`mode`, `placement`, `update_config`,
`rollback_config`, `restart_policy`, `endpoint_mode`, `reservations.cpus`) are read into the
model (`compose.swarm`); whether they have an effect is judged with the engine known
(`manifests.enginecheck`: a warning on a Docker host). `deploy.labels` (the Swarm service's own
labels) is not carried: a warning. `replicas` (or the legacy `scale`) is `deploy.replicas`;
`restart_policy` is also the container's `restartPolicy` (`max_attempts` the retry count of
`on-failure:N`). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncd.manifests.compose.context import Context, clip, kind_of
from syncd.manifests.compose.devicerequests import read_reserved_devices
from syncd.manifests.compose.swarm import SWARM_KEYS, read_swarm
from syncd.manifests.compose.units import cpu_problem, parse_bytes, parse_cpu_count, same_cpus
from syncd.manifests.parse import suggest
from syncd.manifests.quantities import parse_memory
from syncd.manifests.yamlsafe import Path

DEPLOY_KEYS = (
    "mode", "replicas", "labels", "update_config", "rollback_config", "resources",
    "restart_policy", "placement", "endpoint_mode",
)  # fmt: skip
_RESTART_CONDITIONS = {"none": "no", "on-failure": "on-failure", "any": "always"}
LEGACY = ("mem_limit", "cpus", "pids_limit", "mem_reservation")


def _memory(value: object, at: Path, ctx: Context) -> int | None:
    parsed = parse_bytes(value)
    if isinstance(parsed, str):
        ctx.error(at, parsed)
        return None
    try:
        parse_memory(str(parsed))
    except ValueError as err:
        ctx.error(at, str(err))
        return None
    return parsed


def _cpus(value: object, at: Path, ctx: Context) -> str | None:
    parsed = parse_cpu_count(value)
    if parsed is None:
        ctx.error(at, cpu_problem(value))
    return parsed


def _mapping(value: object, at: Path, ctx: Context, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        ctx.error(at, f"{what} is a mapping, got {kind_of(value)}")
        return {}
    return value


def _limits(service: Mapping[str, Any], at: Path, ctx: Context) -> dict[str, Any]:
    given = service.get("deploy")
    deploy: dict[str, Any] = given if isinstance(given, dict) else {}
    where = (*at, "deploy", "resources")
    resources = _mapping(deploy.get("resources"), where, ctx, "resources")
    limits = _mapping(resources.get("limits"), (*where, "limits"), ctx, "limits")
    out: dict[str, Any] = {}
    pairs = (("memory", "mem_limit", _memory), ("cpus", "cpus", _cpus))
    for key, legacy, parse in pairs:
        new = parse(limits[key], (*where, "limits", key), ctx) if key in limits else None
        old = parse(service[legacy], (*at, legacy), ctx) if legacy in service else None
        if new is not None and old is not None:
            differ = not same_cpus(str(new), str(old)) if key == "cpus" else new != old
            if differ:
                here = (*where, "limits", key)
                ctx.error(here, f"{legacy} and deploy.resources.limits.{key} differ")
                continue
        chosen = new if new is not None else old
        if chosen is not None:
            out[key] = str(chosen)
    for key in limits:
        if key not in ("memory", "cpus", "pids"):
            ctx.error((*where, "limits", key), f"unknown key {key!r}", key=True)
    reservations = _mapping(
        resources.get("reservations"), (*where, "reservations"), ctx, "reservations"
    )
    for key in reservations:
        here = (*where, "reservations", key)
        if key == "cpus":
            cpus = _cpus(reservations[key], here, ctx)
            if cpus is not None:
                out["reservedCpus"] = cpus  # the model's resources.reservations.cpus
        elif key == "memory":
            pass  # with mem_reservation (`compose.security`)
        elif key == "devices":
            pass  # device requests (`_reserved_devices`)
        else:
            ctx.error(here, f"{key!r} is not honoured on a Docker host", key=True)
    return out


def read_deploy(service: Mapping[str, Any], at: Path, ctx: Context) -> dict[str, Any] | None:
    """The model's `deploy` value, or None when it carries nothing."""
    deploy = _mapping(service.get("deploy"), (*at, "deploy"), ctx, "deploy")
    where = (*at, "deploy")
    out: dict[str, Any] = {}
    for key, value in deploy.items():
        here = (*where, key)
        if key not in DEPLOY_KEYS and not key.startswith("x-"):
            ctx.error(here, f"unknown key {key!r}{suggest(key, DEPLOY_KEYS)}", key=True)
        elif key == "labels":
            ctx.warn(here, "deploy.labels (the Swarm service's own labels) is not carried")
        elif key == "replicas":
            out["replicas"] = _replicas(value, here, ctx)
        elif key in SWARM_KEYS:
            # restart_policy: its condition and retries are checked by `read_restart_policy`
            given = _swarm_restart(value) if key == "restart_policy" else value
            found = read_swarm(key, given, here, ctx)
            if found is not None:
                out[found[0]] = found[1]
    if "scale" in service:
        out.setdefault("replicas", _replicas(service["scale"], (*at, "scale"), ctx))
        replicas = deploy.get("replicas")
        if "replicas" in deploy and replicas != service["scale"]:
            ctx.error((*where, "replicas"), "scale and deploy.replicas differ")
        if (
            isinstance(service["scale"], int)
            and service["scale"] > 1
            and "container_name" in service
        ):
            ctx.error((*at, "container_name"), "container_name names one container; scale is more")
    if out.get("mode") == "global":
        _global(deploy, service, at, ctx)
    replicas = deploy.get("replicas")
    if isinstance(replicas, int) and replicas > 1 and "container_name" in service:
        ctx.error((*at, "container_name"), "container_name names one container; replicas is more")
    limits = _limits(service, at, ctx)
    reserved_cpus = limits.pop("reservedCpus", None)
    if limits:
        out["resources"] = {"limits": limits}
    devices = _reserved_devices(service, at, ctx)
    if devices is not None:
        out.setdefault("resources", {})["reservations"] = {"devices": devices}
    if reserved_cpus is not None:
        out.setdefault("resources", {}).setdefault("reservations", {})["cpus"] = reserved_cpus
    out = {k: v for k, v in out.items() if v is not None}
    return out or None


def _global(deploy: Mapping[str, Any], service: Mapping[str, Any], at: Path, ctx: Context) -> None:
    """`mode: global` runs one task per node: no replica count, no maximum per node."""
    if "replicas" in deploy or "scale" in service:
        here = (*at, "deploy", "replicas") if "replicas" in deploy else (*at, "scale")
        ctx.error(here, "mode global runs one task per node: replicas is for mode replicated")
    placement = deploy.get("placement")
    if isinstance(placement, dict) and "max_replicas_per_node" in placement:
        here = (*at, "deploy", "placement", "max_replicas_per_node")
        ctx.error(here, "max_replicas_per_node is for mode replicated, not global")


def _swarm_restart(value: object) -> object:
    """The keys of `restart_policy` left to check as Swarm's (None: `read_restart_policy`
    has found an error already)."""
    if not isinstance(value, dict):
        return None
    condition = value.get("condition", "any")
    attempts = value.get("max_attempts", 0)
    if not isinstance(condition, str) or condition not in _RESTART_CONDITIONS:
        return None
    if isinstance(attempts, bool):
        return None
    if not isinstance(attempts, int) or not 0 <= attempts <= 999_999:
        return None
    return {k: v for k, v in value.items() if k in ("condition", "max_attempts", "delay", "window")}


def _reserved_devices(service: Mapping[str, Any], at: Path, ctx: Context) -> object | None:
    deploy = service.get("deploy")
    resources = deploy.get("resources") if isinstance(deploy, dict) else None
    reserved = resources.get("reservations") if isinstance(resources, dict) else None
    if not isinstance(reserved, dict) or reserved.get("devices") is None:
        return None
    here = (*at, "deploy", "resources", "reservations", "devices")
    return read_reserved_devices(reserved["devices"], here, ctx)


def _replicas(value: object, at: Path, ctx: Context) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1000:
        ctx.error(at, "replicas is a whole number from 0 to 1000")
        return None
    return value


def read_restart_policy(value: object, at: Path, ctx: Context) -> str | None:
    """`deploy.restart_policy` as the model's `restartPolicy` (`any` -> always, `none` -> no)."""
    policy = _mapping(value, at, ctx, "restart_policy")
    condition = policy.get("condition", "any")
    if not isinstance(condition, str) or condition not in _RESTART_CONDITIONS:
        ctx.error((*at, "condition"), "condition is none, on-failure or any")
        return None
    attempts = policy.get("max_attempts")
    if attempts is not None and (
        isinstance(attempts, bool) or not isinstance(attempts, int) or not 0 <= attempts <= 999_999
    ):
        ctx.error((*at, "max_attempts"), "max_attempts is a whole number, 0 or more")
        return None
    if attempts and condition != "on-failure":
        ctx.warn(
            (*at, "max_attempts"),
            f"max_attempts counts retries of condition on-failure only on a Docker host: "
            f"ignored with {clip(str(condition))!r}",
        )
    for key in policy:
        if key not in ("condition", "max_attempts", "delay", "window"):
            ctx.error((*at, key), f"unknown key {key!r}", key=True)
    name = _RESTART_CONDITIONS[str(condition)]
    return f"{name}:{attempts}" if attempts and name == "on-failure" else name
