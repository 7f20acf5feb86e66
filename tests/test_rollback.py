"""Rollback without Docker: the set-aside container observe keeps, the replace that undoes itself
(on the fake engine), the flap guard's backoff and the settings (issue 15)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from syncd.apply import flapguard
from syncd.apply.rollback import Keeper
from syncd.apply.store import Store
from syncd.core.desired import DesiredService
from syncd.core.observe import observe
from syncd.core.plan import Action, Plan, Reason, ServiceChange, StackPlan
from syncd.engine.base import ContainerRequest, ContainerState, Names, Observed, ObservedContainer
from syncd.errors import EngineError, RolledBack, SyncdError
from syncd.ids import StackKey
from syncd.settings import RollbackScope, add_arguments, from_args
from tests.fake_engine import FakeEngine

STACK = StackKey("shop", "default")
WEB = STACK.service("web")
SPEC: dict[str, Any] = {"image": "busybox:1.36", "environment": {"A": "1"}}


def _container(cid: str, name: str, state: ContainerState, created: float) -> ObservedContainer:
    return ObservedContainer(cid, name, WEB, "h", "r1", "img", state, None, created)


def test_observe_keeps_the_container_an_interrupted_replace_set_aside() -> None:
    old_id = "a" * 64
    aside = _container(old_id, f"shop_default_web.old-{old_id[:12]}", ContainerState.EXITED, 1)
    new = _container("b" * 64, "shop_default_web", ContainerState.RUNNING, 9)
    seen = observe(Observed((new, aside)), {})
    assert seen.containers[WEB].id == old_id
    assert [c.id for c in seen.strays] == ["b" * 64]


def test_a_name_that_only_looks_set_aside_is_not_preferred() -> None:
    """A pusher can name a service `web.old-x`; only the container's own id marks a set-aside."""
    fake = _container("c" * 64, f"shop_default_web.old-{'d' * 12}", ContainerState.EXITED, 1)
    running = _container("e" * 64, "shop_default_web", ContainerState.RUNNING, 2)
    seen = observe(Observed((fake, running)), {})
    assert seen.containers[WEB].id == "e" * 64


@dataclass
class FailingNew(FakeEngine):
    """Containers created after `arm()` fail to start (the old ones start again)."""

    armed: bool = False
    doomed: set[str] = field(default_factory=set)

    def create(self, request: ContainerRequest) -> str:
        made = super().create(request)
        if self.armed:
            self.doomed.add(made)
        return made

    def start(self, container_id: str) -> None:
        super().start(container_id)
        if container_id in self.doomed:
            self.containers[container_id].state = ContainerState.EXITED
            raise EngineError("port is already allocated")


def test_a_failed_replica_undoes_every_replace_of_the_service() -> None:
    engine = FailingNew()
    engine.have("busybox:1.36")
    requests = [ContainerRequest(WEB, "busybox:1.36", {}, replica=n) for n in (1, 2)]
    olds = [engine.create(r) for r in requests]
    for old in olds:
        engine.start(old)
    keeper = Keeper(engine, stop_timeout=0, health_timeout=1, grace=0)
    first = keeper.replace(olds[0], requests[0])  # replica 1 proves itself
    engine.armed = True
    with pytest.raises(RolledBack, match=r"^rolled back: port is already allocated$"):
        keeper.replace(olds[1], requests[1])
    assert first not in engine.containers and set(engine.containers) == set(olds)
    names = Names(engine.instance)
    for old, request in zip(olds, requests, strict=True):
        assert engine.containers[old].state is ContainerState.RUNNING
        assert engine.containers[old].name == names.container(WEB, request.replica)


def _plan(spec: dict[str, Any]) -> Plan:
    change = ServiceChange(
        WEB, Action.RECREATE, Reason.SPEC_CHANGED, desired=DesiredService(WEB, spec)
    )
    return Plan("r1", "r2", (StackPlan(STACK, (change,)),))


def _action(plan: Plan) -> tuple[Action, str]:
    change = plan.stacks[0].services[0]
    return change.action, change.reason_text


def test_the_flap_guard_holds_the_same_spec_doubling_its_backoff(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.sqlite")
    failing = _plan(SPEC)
    spec_hash = failing.stacks[0].services[0].desired.hash  # type: ignore[union-attr]
    assert flapguard.hold(failing, store, 60, now=1000) is failing  # nothing remembered
    flapguard.remember(store, WEB, spec_hash, now=1000)
    action, text = _action(flapguard.hold(failing, store, 60, now=1059))
    assert action is Action.NONE
    assert text == "held: rolled back at 1970-01-01T00:16:40Z, retry after 1970-01-01T00:17:40Z"
    assert _action(flapguard.hold(failing, store, 60, now=1060))[0] is Action.RECREATE
    again = flapguard.remember(store, WEB, spec_hash, now=2000)
    assert again.attempts == 2 and again.retry_after(60) == 2120
    assert _action(flapguard.hold(failing, store, 60, now=2119))[0] is Action.NONE
    # a new spec is tried at once
    assert _action(flapguard.hold(_plan({**SPEC, "command": ["x"]}), store, 60, now=2001))[0] is (
        Action.RECREATE
    )
    for n in range(40):  # bounded: at most 32 times the backoff
        latest = flapguard.remember(store, WEB, spec_hash, now=3000 + n)
    assert latest.retry_after(60) == 3039 + 60 * 32
    assert flapguard.remember(store, WEB, "another", now=5000).attempts == 1
    flapguard.forget(store, WEB)
    assert flapguard.failures(store) == {}
    store.close()


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_rollback_settings_from_flags_and_env_are_bounded() -> None:
    env = {"XDG_STATE_HOME": "/tmp", "SYNCD_ROLLBACK_BACKOFF": "90"}
    settings = from_args(_parse("--rollback-grace", "1.5"), env)
    assert (settings.rollback_grace, settings.rollback_backoff) == (1.5, 90)
    for bad in (
        ["--rollback-grace", "nan"],
        ["--rollback-grace", "-1"],
        ["--rollback-backoff", "1e9"],
    ):
        with pytest.raises(SyncdError, match="rollback"):
            from_args(_parse(*bad), {"XDG_STATE_HOME": "/tmp"})


def test_rollback_scope_is_service_unless_revision_is_asked_for() -> None:
    assert from_args(_parse(), {"XDG_STATE_HOME": "/tmp"}).rollback is RollbackScope.SERVICE
    env = {"XDG_STATE_HOME": "/tmp", "SYNCD_ROLLBACK": "revision"}
    assert from_args(_parse(), env).rollback is RollbackScope.REVISION
    with pytest.raises(SyncdError, match="rollback 'stack' is not one of: service, revision"):
        from_args(_parse(), {"XDG_STATE_HOME": "/tmp", "SYNCD_ROLLBACK": "stack"})


def test_a_held_recreate_restarts_no_dependent(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.sqlite")
    web = _plan(SPEC).stacks[0].services[0]
    app_key = STACK.service("app")
    app = DesiredService(app_key, {**SPEC, "dependsOnRestart": ["web"]})
    restart = ServiceChange(app_key, Action.START, Reason.DEPENDENCY_RECREATED, desired=app)
    both = Plan("r1", "r2", (StackPlan(STACK, (web, restart)),))
    assert web.desired is not None
    flapguard.remember(store, WEB, web.desired.hash, now=1000)
    held = flapguard.hold(both, store, 60, now=1001).stacks[0].services
    assert [(c.action, c.reason) for c in held] == [
        (Action.NONE, Reason.HELD),
        (Action.NONE, Reason.UNCHANGED),
    ]
    later = flapguard.hold(both, store, 60, now=2000).stacks[0].services
    assert [c.action for c in later] == [Action.RECREATE, Action.START]
    store.close()
