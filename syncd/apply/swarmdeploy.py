"""A desired service's canonical spec -> how it runs on Swarm (`engine.swarmspec.SwarmDeploy`).

The Swarm fields are read by `core.options.swarm.swarm_options` (Swarm's defaults explicit);
this module only carries them over to the engine's vocabulary, with one choice of syncd's own:
an update whose `failureAction` the manifest leaves at Swarm's default rolls back (Swarm would
pause), so that a failing rollout returns to the spec that worked and the sync reports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncd.core.options.swarm import FIELD, RolloutOptions, swarm_options
from syncd.engine.swarmspec import NANO, SwarmDeploy, UpdatePolicy
from syncd.manifests.fields import parse_port
from syncd.manifests.options.swarm import FailureAction, ServiceMode


def _policy(options: RolloutOptions, failure_action: str | None = None) -> UpdatePolicy:
    return UpdatePolicy(
        parallelism=options.parallelism,
        delay=options.delay_ns / NANO,
        failure_action=failure_action or options.failure_action.value,
        monitor=options.monitor_ns / NANO,
        max_failure_ratio=options.max_failure_ratio,
        order=options.order.value,
    )


def deploy_of(spec: Mapping[str, Any]) -> SwarmDeploy:
    """How the service runs on Swarm, from its canonical spec."""
    options = swarm_options(spec)
    given: Mapping[str, Any] = (spec.get(FIELD) or {}).get("updateConfig") or {}
    unset = "failureAction" not in given
    return SwarmDeploy(
        replicas=options.replicas if options.replicas is not None else 1,
        global_mode=options.mode is ServiceMode.GLOBAL,
        update=_policy(options.update, FailureAction.ROLLBACK.value if unset else None),
        rollback=_policy(options.rollback),
        constraints=options.constraints,
        spread=options.preferences,
        max_replicas_per_node=options.max_replicas_per_node,
        endpoint_mode=options.endpoint_mode.value,
        reserve_nano_cpus=options.reserve_nano_cpus,
        reserve_memory=options.reserve_memory_bytes,
        restart_condition=options.restart.condition.value,
        restart_delay=options.restart.delay_ns / NANO,
        restart_max_attempts=options.restart.max_attempts,
        restart_window=options.restart.window_ns / NANO,
        port_modes={parse_port(p).container: m.value for p, m in options.port_modes.items()},
    )
