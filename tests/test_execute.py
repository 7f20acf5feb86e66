"""The reconciler's own decisions, on an in-memory engine at syncd's `Engine` seam: dependency
order, a failure's consequences for dependents, image moves, failed pulls, operator stops and
`--allow-empty`. (The same paths on real Docker are in test_engine.py and test_daemon.py.)"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from syncd.apply.execute import SyncResult
from syncd.apply.reconcile import Reconciler
from syncd.apply.store import Store
from syncd.core.plan import Action, Reason
from syncd.errors import PlanRefused
from syncd.ids import StackKey
from syncd.manifests import read_manifests
from syncd.settings import Settings
from tests.fake_engine import FakeEngine, image_id_of
from tests.planning import File

SHOP = StackKey("shop", "default")
ONE = "kind: Stack\nproject: shop\nservices:\n  web: {image: 'busybox:1.36'}\n"
CHAIN = """\
kind: Stack
project: shop
services:
  db:
    image: busybox:1.36
  api:
    image: busybox:1.36
    dependsOn: {db: service_started}
  web:
    image: busybox:1.36
    dependsOn: {api: service_started}
  other:
    image: busybox:1.36
"""


class Harness:
    """A reconciler with a real state store in a temporary folder and a fake engine."""

    def __init__(self, root: Path, engine: FakeEngine, env: Mapping[str, str] | None = None):
        self.root = root
        self.engine = engine
        self.env = dict(env or {})
        self.settings = Settings(
            data_dir=root, instance="fake", health_timeout=1, stop_timeout=0, rollback_grace=0
        )
        self.store = Store(self.settings.state_file)
        self.reconciler = Reconciler(self.settings, engine, self.store, self.env)

    def sync(self, text: str, revision: str = "r1", *, allow_empty: bool = False) -> SyncResult:
        files = [File("stack.yaml", textwrap.dedent(text).encode())] if text else []
        manifests = read_manifests(files, self.env)
        assert not manifests.errors, [str(p) for p in manifests.errors]
        return self.reconciler.sync(manifests, revision, allow_empty=allow_empty)

    def reopen(self) -> Harness:
        """The same data dir and engine after a daemon restart."""
        self.store.close()
        return Harness(self.root, self.engine, self.env)


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    made = Harness(tmp_path, FakeEngine().have("busybox:1.36"))
    yield made
    made.store.close()


def _results(result: SyncResult) -> dict[str, tuple[bool, str]]:
    return {r.key.name: (r.ok, r.detail) for r in result.services}


def test_dependencies_start_before_their_dependents(harness: Harness) -> None:
    result = harness.sync(CHAIN)
    assert result.ok, _results(result)
    started = harness.engine.did("start")
    chain = [started.index(f"shop/default/{name}") for name in ("db", "api", "web")]
    assert chain == sorted(chain)
    assert harness.engine.did("create").index("shop/default/api") > started.index("shop/default/db")


def test_a_failed_dependency_fails_its_dependents_and_nothing_else(harness: Harness) -> None:
    harness.engine.fail_start.add("db")
    result = harness.sync(CHAIN)
    results = _results(result)
    assert not result.ok
    assert results["db"][0] is False and "planted start failure" in results["db"][1]
    assert results["api"] == (False, "not started: its dependency db failed")
    assert results["web"] == (False, "not started: its dependency api failed")  # transitively
    assert results["other"][0] is True  # independent of the failure
    created = harness.engine.did("create")
    assert "shop/default/api" not in created and "shop/default/web" not in created
    failed = {r.key.name for r in result.failed}
    assert failed == {"db", "api", "web"}


def test_a_new_image_id_for_the_same_reference_recreates_the_container(harness: Harness) -> None:
    stack = ONE
    assert harness.sync(stack).ok
    old = harness.engine.the(SHOP.service("web"))
    harness.engine.images["busybox:1.36"] = image_id_of("busybox:1.36", 2)  # re-tagged locally

    result = harness.sync(stack)

    change = result.plan.stacks[0].services[0]
    assert (change.action, change.reason, change.fields) == (
        Action.RECREATE,
        Reason.IMAGE_CHANGED,
        ("imageId",),
    )
    new = harness.engine.the(SHOP.service("web"))
    assert result.ok and new.id != old.id and new.image_id == image_id_of("busybox:1.36", 2)
    assert not harness.sync(stack).plan.changed  # and then it is stable


def test_a_failed_pull_keeps_the_old_container_running(harness: Harness) -> None:
    assert harness.sync(ONE).ok
    old = harness.engine.the(SHOP.service("web"))
    harness.engine.fail_pull.add("127.0.0.1:5555/team/web:2")

    result = harness.sync(
        "kind: Stack\nproject: shop\nservices:\n  web: {image: '127.0.0.1:5555/team/web:2'}\n"
    )

    (web,) = result.services
    assert not web.ok and web.action is Action.RECREATE
    assert "pulling 127.0.0.1:5555/team/web:2 failed" in web.detail
    assert web.detail.endswith("; the old container keeps running")
    still = harness.engine.the(SHOP.service("web"))
    assert still.id == old.id and still.state == "running"
    assert "shop/default/web" not in harness.engine.did("stop")


def test_an_operator_stop_survives_syncs_and_restarts_until_started(harness: Harness) -> None:
    web = SHOP.service("web")
    stack = ONE
    assert harness.sync(stack).ok
    harness.reconciler.operator_stop(web)
    assert harness.engine.the(web).state == "exited"

    again = harness.reopen()  # a daemon restart: a new store on the same file
    result = again.sync(stack)
    change = result.plan.stacks[0].services[0]
    assert (change.action, change.reason) == (Action.NONE, Reason.OPERATOR_STOPPED)
    assert again.engine.the(web).state == "exited"
    described = stack.replace("{image: 'busybox:1.36'}", "{image: 'busybox:1.36', description: x}")
    updated = again.sync(described)  # a metadata change is recorded, the stop still respected
    assert updated.plan.stacks[0].services[0].action is Action.UPDATE
    assert again.engine.the(web).state == "exited"

    again.reconciler.operator_start(web)
    assert again.engine.the(web).state == "running"
    harness.engine.stop(again.engine.the(web).id, 0)  # now a stop by anyone else is healed
    healed = again.sync(described)
    assert healed.plan.stacks[0].services[0].action is Action.START
    assert again.engine.the(web).state == "running"
    again.store.close()


def test_a_revision_without_stacks_removes_them_only_when_allowed(harness: Harness) -> None:
    assert harness.sync(ONE).ok
    with pytest.raises(PlanRefused, match="--allow-empty"):
        harness.sync("", "r2")
    assert harness.engine.of(SHOP.service("web"))
    result = harness.sync("", "r2", allow_empty=True)
    assert result.ok and result.plan.counts()["remove"] == 1
    assert not harness.engine.of(SHOP.service("web"))
