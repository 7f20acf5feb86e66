"""Observed containers + records -> live state: adoption, strays and unknown specs (pure)."""

from __future__ import annotations

from typing import Any

from syncd.core.desired import DesiredService, DesiredStack, DesiredState
from syncd.core.live import ServiceStatus
from syncd.core.observe import observe
from syncd.core.plan import Action, plan
from syncd.core.records import ServiceRecord
from syncd.engine.base import ContainerState, Observed, ObservedContainer
from syncd.ids import StackKey
from syncd.manifests.model import Strategy

STACK = StackKey("shop", "default")
WEB = STACK.service("web")
SPEC: dict[str, Any] = {"image": "busybox:1.36", "environment": {"A": "1"}}


def _desired(spec: dict[str, Any] = SPEC) -> DesiredState:
    service = DesiredService(WEB, dict(spec))
    stack = DesiredStack(STACK, Strategy.DECLARE, "", {"web": service}, {})
    return DesiredState("r2", {STACK: stack})


def _container(
    hash_: str, cid: str = "c1", state: ContainerState = ContainerState.RUNNING, created: float = 1
) -> ObservedContainer:
    return ObservedContainer(cid, "shop_default_web", WEB, hash_, "r1", "img", state, None, created)


def _record(spec: dict[str, Any], container_hash: str) -> ServiceRecord:
    return ServiceRecord(str(WEB), "r1", spec, frozenset(), container_hash, 0.0, "created", None)


def test_a_recorded_container_runs_its_recorded_spec() -> None:
    desired = _desired()
    container = _container(desired.stacks[STACK].services["web"].hash)
    seen = observe(
        Observed((container,)), {str(WEB): _record(SPEC, container.hash)}, desired=desired
    )
    service = seen.live.stacks[STACK].services["web"]
    assert service.spec == SPEC and not seen.unrecorded
    assert plan(desired, seen.live).stacks[0].services[0].action is Action.NONE


def test_an_unrecorded_container_with_the_desired_hash_is_adopted_not_recreated() -> None:
    desired = _desired()
    container = _container(desired.stacks[STACK].services["web"].hash)
    seen = observe(Observed((container,)), {}, desired=desired)
    assert seen.unrecorded == {WEB}
    assert plan(desired, seen.live).stacks[0].services[0].action is Action.NONE


def test_a_container_of_unknown_spec_is_recreated() -> None:
    desired = _desired()
    seen = observe(Observed((_container("not-the-hash"),)), {}, desired=desired)
    change = plan(desired, seen.live).stacks[0].services[0]
    assert change.action is Action.RECREATE


def test_one_container_per_service_is_kept_the_others_are_strays() -> None:
    old = _container("h", "old", ContainerState.EXITED, created=5)
    running = _container("h", "run", ContainerState.RUNNING, created=1)
    newer = _container("h", "new", ContainerState.CREATED, created=9)
    seen = observe(Observed((old, running, newer)), {})
    assert seen.containers[WEB].id == "run"
    assert sorted(c.id for c in seen.strays) == ["new", "old"]


def test_docker_states_map_to_mittwald_statuses_and_operator_stops_are_kept() -> None:
    for state, status in [
        (ContainerState.EXITED, ServiceStatus.STOPPED),
        (ContainerState.CREATED, ServiceStatus.STOPPED),
        (ContainerState.RESTARTING, ServiceStatus.STARTING),
        (ContainerState.DEAD, ServiceStatus.ERROR),
    ]:
        seen = observe(Observed((_container("h", state=state),)), {}, stopped=frozenset({str(WEB)}))
        service = seen.live.stacks[STACK].services["web"]
        assert (service.status, service.operator_stopped) == (status, True)
