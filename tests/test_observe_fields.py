"""What `observe` makes of one listing, field by field: each live service's facts, restored
secrets, volumes and their orphaned flag, networks, stack descriptions and statuses (pure)."""

from __future__ import annotations

from typing import Any

from syncd.core.canonical import Spec
from syncd.core.desired import DesiredService, DesiredStack, DesiredState
from syncd.core.live import LiveVolume, ServiceStatus
from syncd.core.observe import observe, status_of
from syncd.core.records import ServiceRecord
from syncd.engine.base import (
    ContainerHealth,
    ContainerState,
    Observed,
    ObservedContainer,
    ObservedVolume,
)
from syncd.ids import StackKey
from syncd.manifests.model import Strategy

STACK = StackKey("shop", "default")
WEB = STACK.service("web")
SPEC: dict[str, Any] = {"image": "busybox:1.36", "environment": {"PW": "real"}}


def _container(
    state: ContainerState = ContainerState.RUNNING,
    health: ContainerHealth | None = None,
    hash_: str = "h1",
) -> ObservedContainer:
    return ObservedContainer("c1", "shop_default_web", WEB, hash_, "r1", "img1", state, health, 1.0)


def _desired(description: str = "The shop") -> DesiredState:
    service = DesiredService(WEB, dict(SPEC), frozenset({"/environment/PW"}), "how-1")
    stack = DesiredStack(STACK, Strategy.DECLARE, description, {"web": service}, {})
    return DesiredState("r2", {STACK: stack})


def test_a_live_service_carries_the_facts_of_its_container() -> None:
    record = ServiceRecord(str(WEB), "r1", {"image": "x"}, frozenset({"/a"}), "h1", 0.0, "ok", None)
    seen = observe(Observed((_container(),)), {str(WEB): record})
    live = seen.live.stacks[STACK].services["web"]
    assert (live.key, live.hash, live.revision, live.container_id, live.image_id) == (
        WEB,
        "h1",
        "r1",
        "c1",
        "img1",
    )
    assert (live.spec, live.secrets, live.status) == (
        {"image": "x"},
        frozenset({"/a"}),
        ServiceStatus.RUNNING,
    )
    assert live.operator_stopped is False


def test_a_record_is_restored_with_the_desired_spec() -> None:
    """The store keeps digests of secrets: `restore` gets the record and the desired spec's
    secret values (every other leaf None: a plain value may never stand in for a secret)."""
    record = ServiceRecord(
        str(WEB), "r1", {"environment": {"PW": "<digest:x>"}}, frozenset(), "h1", 0.0, "ok", None
    )
    calls: list[tuple[ServiceRecord, Spec | None, str]] = []

    def restore(rec: ServiceRecord, target: Spec | None, declaration: str) -> Spec:
        calls.append((rec, target, declaration))
        return {"restored": True}

    desired = _desired()
    seen = observe(Observed((_container(),)), {str(WEB): record}, desired=desired, restore=restore)
    assert seen.live.stacks[STACK].services["web"].spec == {"restored": True}
    assert calls == [(record, {"image": None, "environment": {"PW": "real"}}, "how-1")]
    calls.clear()
    observe(Observed((_container(),)), {str(WEB): record}, restore=restore)  # nothing desired
    assert calls == [(record, None, "")]


def test_an_adopted_container_takes_the_desired_secrets() -> None:
    desired = _desired()
    container = _container(hash_=desired.stacks[STACK].services["web"].hash)
    live = observe(Observed((container,)), {}, desired=desired).live.stacks[STACK].services["web"]
    assert (live.spec, live.secrets) == (SPEC, frozenset({"/environment/PW"}))


def test_volumes_networks_and_descriptions() -> None:
    other = StackKey("shop", "jobs")
    volumes = (
        ObservedVolume(STACK.volume("data"), "shop_default_data"),
        ObservedVolume(STACK.volume("old"), "shop_default_old"),
        ObservedVolume(other.volume("cache"), "shop_jobs_cache"),
    )
    seen = observe(
        Observed((_container(),), volumes, frozenset({"shop"})),
        {},
        orphaned=frozenset({str(STACK.volume("old"))}),
        desired=_desired("The shop"),
    )
    assert seen.live.networks == {"shop"}
    shop = seen.live.stacks[STACK]
    assert shop.volumes == {
        "data": LiveVolume(STACK.volume("data"), orphaned=False),
        "old": LiveVolume(STACK.volume("old"), orphaned=True),
    }
    assert shop.description == "The shop" and list(shop.services) == ["web"]
    jobs = seen.live.stacks[other]  # a stack with only a volume is still a live stack
    assert jobs.volumes == {"cache": LiveVolume(other.volume("cache"))} and jobs.description == ""
    assert not jobs.services
    assert observe(Observed((_container(),)), {}).live.stacks[STACK].description == ""


def test_a_starting_healthcheck_is_starting_and_other_health_follows_the_state() -> None:
    assert status_of(_container(health=ContainerHealth.STARTING)) is ServiceStatus.STARTING
    assert status_of(_container(health=ContainerHealth.HEALTHY)) is ServiceStatus.RUNNING
    assert status_of(_container(health=ContainerHealth.UNHEALTHY)) is ServiceStatus.RUNNING
    assert (
        status_of(_container(ContainerState.EXITED, ContainerHealth.STARTING))
        is ServiceStatus.STOPPED
    )
    assert status_of(_container(ContainerState.PAUSED)) is ServiceStatus.STOPPED
    assert status_of(_container(ContainerState.REMOVING)) is ServiceStatus.STOPPING
