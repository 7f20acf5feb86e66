"""Pure decisions that code changes once slipped past: a new image id recreates, env-filled values
in any field (not only `environment`) stay secret, a record describes only the container it was
recorded for, and an operator's stop is respected by the plan (no Docker)."""

from __future__ import annotations

from typing import Any

import pytest

from syncd.core.desired import DesiredService, DesiredStack, DesiredState
from syncd.core.live import LiveService, LiveStack, LiveState, ServiceStatus
from syncd.core.observe import observe
from syncd.core.plan import Action, Reason, ServiceChange, plan
from syncd.core.records import ServiceRecord
from syncd.engine.base import ContainerState, Observed, ObservedContainer
from syncd.ids import StackKey
from syncd.manifests.model import Strategy
from syncd.render import PlanFormat, render
from tests.planning import desired, plan_texts

STACK = StackKey("shop", "default")
WEB = STACK.service("web")
SPEC: dict[str, Any] = {"image": "busybox:1.36", "command": ["sleep", "1"]}
OLD_ID, NEW_ID = "sha256:" + "a" * 64, "sha256:" + "b" * 64


def _desired(spec: dict[str, Any] = SPEC) -> DesiredState:
    service = DesiredService(WEB, dict(spec))
    stack = DesiredStack(STACK, Strategy.DECLARE, "", {"web": service}, {})
    return DesiredState("r2", {STACK: stack})


def _live(
    image_id: str | None = OLD_ID,
    status: ServiceStatus = ServiceStatus.RUNNING,
    *,
    operator_stopped: bool = False,
) -> LiveState:
    service = LiveService(
        WEB,
        dict(SPEC),
        "h",
        status,
        "r1",
        "c1",
        image_id=image_id,
        operator_stopped=operator_stopped,
    )
    return LiveState({STACK: LiveStack(STACK, {"web": service})}, frozenset({"shop"}))


def _change(live: LiveState, image_ids: dict[str, str] | None = None) -> ServiceChange:
    (change,) = plan(_desired(), live, image_ids=image_ids).stacks[0].services
    return change


# -- the image id --------------------------------------------------------------------------------


def test_a_reference_that_resolves_to_a_new_image_id_recreates() -> None:
    change = _change(_live(OLD_ID), {"busybox:1.36": NEW_ID})
    assert (change.action, change.reason, change.fields) == (
        Action.RECREATE,
        Reason.IMAGE_CHANGED,
        ("imageId",),
    )
    assert change.reason_text == "the image resolves to a new image id"


@pytest.mark.parametrize(
    ("live_id", "image_ids"),
    [
        (OLD_ID, {"busybox:1.36": OLD_ID}),  # the same image
        (OLD_ID, {}),  # not resolved (not pulled yet): no reason to recreate
        (None, {"busybox:1.36": NEW_ID}),  # the running image is unknown
    ],
)
def test_no_recreate_without_a_known_new_image_id(
    live_id: str | None, image_ids: dict[str, str]
) -> None:
    assert _change(_live(live_id), image_ids).action is Action.NONE


# -- the operator's stop -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [ServiceStatus.STOPPED, ServiceStatus.ERROR])
def test_a_stopped_service_is_started_unless_an_operator_stopped_it(status: ServiceStatus) -> None:
    healed = _change(_live(status=status))
    assert (healed.action, healed.reason) == (Action.START, Reason.STOPPED)
    kept = _change(_live(status=status, operator_stopped=True))
    assert (kept.action, kept.reason) == (Action.NONE, Reason.OPERATOR_STOPPED)


def test_an_operator_stop_does_not_hold_back_a_spec_change() -> None:
    live = _live(status=ServiceStatus.STOPPED, operator_stopped=True)
    changed = DesiredService(WEB, {**SPEC, "command": ["sleep", "2"]})
    stack = DesiredStack(STACK, Strategy.DECLARE, "", {"web": changed}, {})
    (change,) = plan(DesiredState("r2", {STACK: stack}), live).stacks[0].services
    assert (change.action, change.fields) == (Action.RECREATE, ("command",))


# -- secrets outside `environment` ---------------------------------------------------------------

SECRET = "planted-tag-4711"
SECRET_STACK = """\
kind: Stack
project: shop
services:
  web:
    image: "busybox:${TAG}"
    command: [sh, -c, "echo ${TAG}"]
    entrypoint: ["${TAG}"]
    deploy: {resources: {limits: {cpus: "${CPUS}"}}}
    ports: ["${PORT}:80/tcp"]
    volumes: ["data:/${VOLUME}"]
volumes:
  data: {}
"""
SECRET_ENV = {"TAG": SECRET, "CPUS": "0.25", "PORT": "18471", "VOLUME": "planted-volume-4711"}


def test_env_filled_values_in_every_field_are_secret() -> None:
    state = desired(SECRET_STACK, SECRET_ENV, "r1", None)
    web = state.stacks[STACK].services["web"]
    assert web.spec["image"] == f"busybox:{SECRET}"  # the real value is kept to run with
    for name in ("image", "command", "entrypoint", "cpus", "ports", "volumes"):
        marked = [s for s in web.secrets if s == f"/{name}" or s.startswith(f"/{name}/")]
        assert marked, (name, sorted(web.secrets))  # the field, or the item that took the value


@pytest.mark.parametrize("fmt", list(PlanFormat))
def test_a_plan_never_shows_a_value_filled_from_the_env(fmt: PlanFormat) -> None:
    before = {"TAG": "1.36", "CPUS": "0.5", "PORT": "18000", "VOLUME": "old-volume"}
    old = SECRET_STACK
    for name, value in before.items():  # the same stack with literal values, applied before
        old = old.replace("${" + name + "}", value)
    result, _, _ = plan_texts(old, SECRET_STACK, SECRET_ENV)
    (change,) = result.stacks[0].services
    assert change.action is Action.RECREATE
    assert {"image", "command", "entrypoint", "cpus", "ports", "volumes"} <= set(change.fields)
    shown = render(result, fmt)
    for value in (SECRET, "0.25", "18471", "planted-volume-4711"):
        assert value not in shown, (value, shown)
    assert "<redacted>" in shown


# -- a record describes the container it was recorded for ----------------------------------------


def _container(hash_: str) -> ObservedContainer:
    return ObservedContainer(
        "c2", "shop_default_web", WEB, hash_, "r1", OLD_ID, ContainerState.RUNNING, None, 1.0
    )


def test_a_record_of_another_container_does_not_describe_the_running_one() -> None:
    """The store says the desired spec was applied, but the running container carries another
    hash (replaced by hand, or a sync died before recording): its spec is unknown -> recreate."""
    state = _desired()
    record = ServiceRecord(str(WEB), "r1", dict(SPEC), frozenset(), "other", 0.0, "created", None)
    seen = observe(Observed((_container("another-hash"),)), {str(WEB): record}, desired=state)
    live = seen.live.stacks[STACK].services["web"]
    assert live.spec == {} and WEB not in seen.unrecorded
    (change,) = plan(state, seen.live).stacks[0].services
    assert (change.action, change.reason) == (Action.RECREATE, Reason.SPEC_CHANGED)


def test_a_record_describes_its_own_container_even_when_the_desired_spec_moved_on() -> None:
    record = ServiceRecord(str(WEB), "r1", dict(SPEC), frozenset(), "h1", 0.0, "created", None)
    moved = _desired({**SPEC, "command": ["sleep", "9"]})
    seen = observe(Observed((_container("h1"),)), {str(WEB): record}, desired=moved)
    assert seen.live.stacks[STACK].services["web"].spec == SPEC
    (change,) = plan(moved, seen.live).stacks[0].services
    assert (change.action, change.fields) == (Action.RECREATE, ("command",))
