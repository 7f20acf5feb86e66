"""The canonical form of a service's Swarm-only fields (see `manifests.options.swarm`), and
`swarm_options`: those fields with Swarm's defaults made explicit, for the Swarm engine.

In the canonical spec every Swarm-only value lives under ONE key, `swarm` (None when nothing
differs from Swarm's defaults): the Docker engine ignores it, its change needs no new container
(`METADATA`) and it is left out of the config hash (`UNHASHED`), so adding a placement or a
rollout tuning never recreates a container on one Docker host. Inside it:
- `mode`: `global` (replicated, the default, is left out);
- `placement`: `constraints` (sorted, once each), `preferences` (spread descriptors, in order),
  `maxReplicasPerNode`;
- `updateConfig` / `rollbackConfig`: `parallelism`, `delay` / `monitor` (seconds),
  `failureAction`, `maxFailureRatio`; `rollbackConfig.order` (the update's order is the
  engine-neutral `updateOrder`);
- `restartPolicy`: `condition`, `delay`, `maxAttempts`, `window` (seconds);
- `endpointMode`: `dnsrr`; `reservations`: `cpus` (text, as `cpus`);
- `portModes`: canonical port text (`8080:80/tcp`) -> `host`.
Values at Swarm's defaults are left out, so writing a default and omitting it are equal.
A `deploy.restartPolicy` also gives the container restart policy (`restartPolicy`,
`restartMaxRetries`) when the service does not write one. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from syncd.manifests.fields import parse_port
from syncd.manifests.model import Service
from syncd.manifests.options.lifecycle import UpdateOrder, parse_restart
from syncd.manifests.options.swarm import (
    EndpointMode,
    FailureAction,
    PortMode,
    RestartCondition,
    Rollout,
    ServiceMode,
    SwarmRestartPolicy,
    canonical_constraint,
    docker_restart,
)
from syncd.manifests.quantities import parse_cpus, parse_duration

FIELD = "swarm"
DEFAULTS: dict[str, Any] = {FIELD: None}
METADATA: frozenset[str] = frozenset({FIELD})
UNHASHED: frozenset[str] = frozenset({FIELD})  # left out of the config hash (`canonical`)

NANO = 1_000_000_000
# Swarm's own defaults (swarmkit `api/defaults`; `docker service create`)
ROLLOUT_DEFAULTS: dict[str, Any] = {
    "parallelism": 1,
    "delay": 0.0,
    "failureAction": FailureAction.PAUSE.value,
    "monitor": 5.0,
    "maxFailureRatio": 0.0,
}
RESTART_DEFAULTS: dict[str, Any] = {
    "condition": RestartCondition.ANY.value,
    "delay": 5.0,
    "maxAttempts": 0,
    "window": 0.0,
}


def _seconds(text: str | None) -> float | None:
    return None if text is None else parse_duration(text)


def _rollout(config: Rollout | None, order: UpdateOrder | None = None) -> dict[str, Any]:
    if config is None:
        return {}
    out: dict[str, Any] = {
        "parallelism": config.parallelism,
        "delay": _seconds(config.delay),
        "failureAction": config.failure_action.value if config.failure_action else None,
        "monitor": _seconds(config.monitor),
        "maxFailureRatio": (
            float(config.max_failure_ratio) if config.max_failure_ratio is not None else None
        ),
    }
    if order is not None and order is not UpdateOrder.STOP_FIRST:
        out["order"] = order.value
    # a failureAction written is kept even at Swarm's default (pause): syncd's own default for
    # an update is rollback (`apply.swarmdeploy`), so `pause` written means pause
    return {
        k: v
        for k, v in out.items()
        if v is not None and (v != ROLLOUT_DEFAULTS.get(k) or k == "failureAction")
    }


def _restart(policy: SwarmRestartPolicy | None) -> dict[str, Any]:
    if policy is None:
        return {}
    out = {
        "condition": policy.condition.value if policy.condition else None,
        "delay": _seconds(policy.delay),
        "maxAttempts": policy.max_attempts,
        "window": _seconds(policy.window),
    }
    return {k: v for k, v in out.items() if v is not None and v != RESTART_DEFAULTS[k]}


def canonical(service: Service) -> dict[str, Any] | None:
    """The `swarm` value of a service's canonical spec (None: all at Swarm's defaults)."""
    deploy = service.deploy
    if deploy is None:
        return None
    out: dict[str, Any] = {}
    if deploy.mode is ServiceMode.GLOBAL:
        out["mode"] = ServiceMode.GLOBAL.value
    if deploy.placement is not None:
        given = deploy.placement
        placement = {
            "constraints": sorted({canonical_constraint(c) for c in given.constraints or []}),
            "preferences": [p.spread for p in given.preferences or []],
            "maxReplicasPerNode": given.max_replicas_per_node,
        }
        placement = {k: v for k, v in placement.items() if v}
        if placement:
            out["placement"] = placement
    update = _rollout(deploy.update_config)  # its order is `updateOrder`
    rollback = deploy.rollback_config
    parts = {
        "updateConfig": update,
        "rollbackConfig": _rollout(rollback, rollback.order if rollback else None),
        "restartPolicy": _restart(deploy.restart_policy),
    }
    out.update({k: v for k, v in parts.items() if v})
    if deploy.endpoint_mode is EndpointMode.DNSRR:
        out["endpointMode"] = EndpointMode.DNSRR.value
    reserved = deploy.resources.reservations if deploy.resources else None
    if reserved is not None and reserved.cpus is not None and parse_cpus(reserved.cpus) != 0:
        out["reservations"] = {"cpus": str(parse_cpus(reserved.cpus).normalize())}
    modes = {
        str(parse_port(port)): mode.value
        for port, mode in (deploy.port_modes or {}).items()
        if mode is not PortMode.INGRESS
    }
    if modes:
        out["portModes"] = dict(sorted(modes.items()))
    return out or None


# `deploy` fields whose values the canonical spec holds under `swarm` (with `updateConfig`
# but its `order`, and `resources.reservations.cpus`)
_DEPLOY_KEYS = frozenset(
    {"mode", "placement", "rollbackConfig", "restartPolicy", "endpointMode", "portModes"}
)


def holds(rest: Sequence[object]) -> bool:
    """Whether the manifest path `deploy/<rest>` names a value the spec holds under `swarm`
    (to redact it there when it came from the environment)."""
    parts = [str(p) for p in rest]
    if not parts:
        return False
    if parts[0] == "updateConfig":
        return len(parts) > 1 and parts[1] != "order"
    return parts[0] in _DEPLOY_KEYS or parts[-2:] == ["reservations", "cpus"]


def fields(service: Service, given: set[str]) -> dict[str, Any]:
    """`given`: the model field names the manifest sets (`service.model_fields_set`)."""
    out: dict[str, Any] = {}
    if "deploy" not in given:
        return out
    out[FIELD] = canonical(service)
    policy = service.deploy.restart_policy if service.deploy else None
    if policy is not None and "restart_policy" not in given:
        out["restartPolicy"], out["restartMaxRetries"] = parse_restart(docker_restart(policy))
    return out


# -- for the Swarm engine -------------------------------------------------------------------


@dataclass(frozen=True)
class RolloutOptions:
    """An update or rollback configuration (Engine API `UpdateConfig`, durations in ns)."""

    parallelism: int = 1
    delay_ns: int = 0
    failure_action: FailureAction = FailureAction.PAUSE
    monitor_ns: int = 5 * NANO
    max_failure_ratio: float = 0.0
    order: UpdateOrder = UpdateOrder.STOP_FIRST


@dataclass(frozen=True)
class RestartOptions:
    """Engine API `TaskTemplate.RestartPolicy` (durations in ns)."""

    condition: RestartCondition = RestartCondition.ANY
    delay_ns: int = 5 * NANO
    max_attempts: int = 0
    window_ns: int = 0


@dataclass(frozen=True)
class SwarmOptions:
    """A service's Swarm settings with Swarm's defaults explicit.

    `replicas` is None in global mode. `constraints` sorted; `preferences` the spread
    descriptors in order; `max_replicas_per_node` 0 = no limit. CPU values are nano-CPUs and
    memory bytes, as the Engine API takes them (0 = none): the limits come from the spec's
    `cpus` / `memory`, the memory reservation from `memReservation`. `port_modes`: canonical
    port text (`8080:80/tcp`) -> mode, for every published port of the spec."""

    mode: ServiceMode = ServiceMode.REPLICATED
    replicas: int | None = 1
    constraints: tuple[str, ...] = ()
    preferences: tuple[str, ...] = ()
    max_replicas_per_node: int = 0
    update: RolloutOptions = RolloutOptions()
    rollback: RolloutOptions = RolloutOptions()
    restart: RestartOptions = RestartOptions()
    endpoint_mode: EndpointMode = EndpointMode.VIP
    limit_nano_cpus: int = 0
    limit_memory_bytes: int = 0
    reserve_nano_cpus: int = 0
    reserve_memory_bytes: int = 0
    port_modes: Mapping[str, PortMode] = field(default_factory=dict)

    def port_mode(self, port: str) -> PortMode:
        """The mode of a published port (canonical text); ingress unless the spec says host."""
        return self.port_modes.get(str(parse_port(port)), PortMode.INGRESS)


def _ns(seconds: float | None) -> int:
    return round((seconds or 0.0) * NANO)


def _rollout_options(given: Mapping[str, Any], order: str) -> RolloutOptions:
    values = {**ROLLOUT_DEFAULTS, **given}
    return RolloutOptions(
        parallelism=int(values["parallelism"]),
        delay_ns=_ns(values["delay"]),
        failure_action=FailureAction(values["failureAction"]),
        monitor_ns=_ns(values["monitor"]),
        max_failure_ratio=float(values["maxFailureRatio"]),
        order=UpdateOrder(given.get("order", order)),
    )


def _restart_options(spec: Mapping[str, Any], given: Mapping[str, Any]) -> RestartOptions:
    """`deploy.restartPolicy` as written; else the container restart policy's meaning
    (`always` / `unless-stopped` -> any, `on-failure:N` -> on-failure with N attempts).
    `no` is also what a spec says that writes nothing: Swarm's default `any` then (write
    `deploy.restartPolicy.condition: none` to never restart a task)."""
    docker = str(spec.get("restartPolicy") or "no")
    condition = RestartCondition.ANY
    attempts = 0
    if docker == "on-failure":
        condition, attempts = RestartCondition.ON_FAILURE, int(spec.get("restartMaxRetries") or 0)
    values = {**RESTART_DEFAULTS, "condition": condition.value, "maxAttempts": attempts, **given}
    return RestartOptions(
        condition=RestartCondition(values["condition"]),
        delay_ns=_ns(values["delay"]),
        max_attempts=int(values["maxAttempts"]),
        window_ns=_ns(values["window"]),
    )


def swarm_options(spec: Mapping[str, Any]) -> SwarmOptions:
    """The Swarm settings of a canonical spec (`DesiredService.spec`), defaults explicit."""
    swarm: Mapping[str, Any] = spec.get(FIELD) or {}
    mode = ServiceMode(swarm.get("mode", ServiceMode.REPLICATED.value))
    placement: Mapping[str, Any] = swarm.get("placement") or {}
    order = str(spec.get("updateOrder") or UpdateOrder.STOP_FIRST.value)
    cpus, memory = spec.get("cpus"), spec.get("memory")
    reserved = (swarm.get("reservations") or {}).get("cpus")
    ports = [str(parse_port(p)) for p in spec.get("ports") or []]
    modes: Mapping[str, str] = swarm.get("portModes") or {}
    return SwarmOptions(
        mode=mode,
        replicas=None if mode is ServiceMode.GLOBAL else int(spec.get("replicas", 1)),
        constraints=tuple(placement.get("constraints") or ()),
        preferences=tuple(placement.get("preferences") or ()),
        max_replicas_per_node=int(placement.get("maxReplicasPerNode") or 0),
        update=_rollout_options(swarm.get("updateConfig") or {}, order),
        rollback=_rollout_options(swarm.get("rollbackConfig") or {}, UpdateOrder.STOP_FIRST.value),
        restart=_restart_options(spec, swarm.get("restartPolicy") or {}),
        endpoint_mode=EndpointMode(swarm.get("endpointMode", EndpointMode.VIP.value)),
        limit_nano_cpus=int(parse_cpus(str(cpus)) * NANO) if cpus is not None else 0,
        limit_memory_bytes=int(memory or 0),
        reserve_nano_cpus=int(parse_cpus(str(reserved)) * NANO) if reserved else 0,
        reserve_memory_bytes=int(spec.get("memReservation") or 0),
        port_modes={p: PortMode(modes.get(p, PortMode.INGRESS.value)) for p in ports},
    )
