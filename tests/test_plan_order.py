"""The plan's order and bookkeeping, on desired states built directly (so that nothing before the
planner hides its mistakes): dependencies first, a cycle refused with its path, volume reasons,
the base of a revision-to-revision plan, and the empty-revision guard (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from syncd.core.desired import DesiredService, DesiredStack, DesiredState, DesiredVolume
from syncd.core.live import LiveStack, LiveState, LiveVolume
from syncd.core.plan import Action, Reason, VolumeAction, as_live, plan, plan_stack
from syncd.errors import PlanRefused
from syncd.ids import StackKey
from syncd.manifests.model import Strategy

STACK = StackKey("shop", "default")


def _stack(
    depends: dict[str, list[str]], volumes: tuple[str, ...] = (), key: StackKey = STACK
) -> DesiredStack:
    services = {}
    for name, deps in depends.items():
        spec: dict[str, Any] = {"image": "busybox:1.36"}
        spec["dependsOn"] = dict.fromkeys(deps, "service_started")
        services[name] = DesiredService(key.service(name), spec)
    declared = {v: DesiredVolume(key.volume(v)) for v in volumes}
    return DesiredStack(key, Strategy.DECLARE, "", services, declared)


def _order(depends: dict[str, list[str]]) -> list[str]:
    return [c.key.name for c in plan_stack(_stack(depends), None).services]


def test_dependencies_come_before_their_dependents_ties_by_name() -> None:
    assert _order({"a": ["m"], "m": ["z"], "z": [], "b": []}) == ["b", "z", "m", "a"]
    assert _order({"web": ["db", "cache"], "db": [], "cache": ["db"]}) == ["db", "cache", "web"]


def test_a_dependency_on_an_undeclared_service_is_not_planned() -> None:
    assert _order({"web": ["gone"]}) == ["web"]


def test_a_dependency_cycle_is_refused_with_its_path() -> None:
    with pytest.raises(PlanRefused, match=r"^dependency cycle: (a -> b -> a|b -> a -> b)$"):
        _order({"a": ["b"], "b": ["a"]})


def test_volume_actions_say_why() -> None:
    live = LiveStack(
        STACK,
        volumes={
            "kept": LiveVolume(STACK.volume("kept")),
            "back": LiveVolume(STACK.volume("back"), orphaned=True),
            "gone": LiveVolume(STACK.volume("gone")),
        },
    )
    planned = plan_stack(_stack({}, ("kept", "back", "new")), live)
    assert [(v.key.name, v.action, v.reason) for v in planned.volumes] == [
        ("back", VolumeAction.ATTACH, Reason.DECLARED),
        ("kept", VolumeAction.NONE, Reason.UNCHANGED),
        ("new", VolumeAction.CREATE, Reason.NEW),
        ("gone", VolumeAction.DETACH, Reason.NOT_DECLARED),
    ]
    removed = plan_stack(None, live)
    assert [(v.key.name, v.action, v.reason) for v in removed.volumes] == [
        ("gone", VolumeAction.DETACH, Reason.STACK_REMOVED),
        ("kept", VolumeAction.DETACH, Reason.STACK_REMOVED),
    ]
    assert removed.removed and removed.key == STACK


def test_a_new_service_is_created_with_no_live_side() -> None:
    (change,) = plan_stack(_stack({"web": []}), None).services
    assert (change.action, change.reason, change.live) == (Action.CREATE, Reason.NEW, None)
    assert change.desired is not None and change.desired.key == STACK.service("web")


def test_a_revision_seen_as_live_runs_every_project_network() -> None:
    jobs = StackKey("blog", "jobs")
    state = DesiredState("r1", {STACK: _stack({"web": []}), jobs: _stack({}, key=jobs)})
    live = as_live(state)
    assert live.networks == {"shop", "blog"}
    assert live.stacks[STACK].services["web"].revision == "r1"
    assert not plan(state, live).changed


def test_a_revision_without_stacks_is_refused_by_default() -> None:
    live = as_live(DesiredState("r1", {STACK: _stack({"web": []})}))
    with pytest.raises(PlanRefused, match=r"revision \(work tree\) declares no stack, so every"):
        plan(DesiredState(None), live)
    with pytest.raises(PlanRefused, match="the 1 managed stacks would be removed"):
        plan(DesiredState("r2"), live)
    assert plan(DesiredState("r2"), live, allow_empty=True).counts()["remove"] == 1
    assert not plan(DesiredState("r2"), LiveState()).changed  # nothing managed: nothing refused


def test_a_stack_plan_needs_one_side() -> None:
    with pytest.raises(AssertionError):
        plan_stack(None, None)
