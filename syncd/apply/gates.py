"""Dependency gates: a service starts once each `dependsOn` service is started, healthy or
completed, as its condition asks; waiting ends at `settings.health_timeout`."""

from __future__ import annotations

import time
from collections.abc import Callable

from syncd import progress
from syncd.core.plan import ServiceChange
from syncd.engine.base import ContainerHealth, ContainerState, Engine
from syncd.errors import DependencyNotHealthy, ServiceFailed
from syncd.ids import ServiceKey
from syncd.manifests.model import DependsCondition

POLL = 0.2  # seconds between two looks at a dependency's health


def dependencies(change: ServiceChange) -> list[ServiceKey]:
    """The services `change` depends on (none for a removal)."""
    if change.desired is None:
        return []
    stack = change.key.stack_key
    spec = change.desired.spec
    names = [
        *(spec.get("dependsOn") or {}),
        *(link.partition(":")[0] for link in spec.get("links") or []),
    ]
    for field in ("networkMode", "pid", "ipc"):  # joins that container's namespace
        mode = spec.get(field) or ""
        if mode.startswith("service:"):
            names.append(mode.removeprefix("service:"))
    return [stack.service(name) for name in dict.fromkeys(names)]


def wait_for_dependencies(
    engine: Engine,
    timeout: float,
    change: ServiceChange,
    container_of: Callable[[ServiceKey], str | None],
) -> None:
    """Return once every gate of `change` is open; `ServiceFailed` when one never opens."""
    assert change.desired is not None
    conditions: dict[str, str] = change.desired.spec.get("dependsOn") or {}
    optional = set(change.desired.spec.get("dependsOnOptional") or [])
    for name, condition in sorted(conditions.items()):
        if condition == DependsCondition.STARTED.value:
            continue
        container = container_of(change.key.stack_key.service(name))
        if container is None and name in optional:
            continue  # `required: false`: a dependency without a container is fine
        if container is None:
            raise ServiceFailed(f"not started: its dependency {name} has no container")
        subject = str(change.key.stack_key.service(name))
        _wait(engine, timeout, name, container, condition, subject=subject)


def _wait(
    engine: Engine, timeout: float, name: str, container: str, condition: str, *, subject: str
) -> None:
    deadline = time.monotonic() + timeout
    healthy = condition == DependsCondition.HEALTHY.value
    while True:
        state = engine.health(container)
        progress.health(engine.reporter, subject, state.health or state.state)
        if healthy and state.health is ContainerHealth.HEALTHY:
            progress.health(engine.reporter, subject, state.health, done=True)
            return
        if healthy and state.health is None and state.state is ContainerState.RUNNING:
            raise DependencyNotHealthy(
                f"not started: its dependency {name} has no healthcheck, so it can never be "
                "service_healthy"
            )
        if state.state in (ContainerState.EXITED, ContainerState.DEAD):
            if not healthy and state.exit_code == 0:
                return
            raise ServiceFailed(
                f"not started: its dependency {name} exited with code {state.exit_code}"
            )
        if time.monotonic() >= deadline:
            failure = DependencyNotHealthy if healthy else ServiceFailed
            raise failure(
                f"not started: its dependency {name} was not "
                f"{'healthy' if healthy else 'completed'} within {timeout:g} s "
                f"(health: {state.health or 'none'})"
            )
        time.sleep(POLL)
