"""Issue 13's rare keys without Docker: `pid` / `ipc` `service:x` (Compose and the native `Stack`
give one spec, the other service starts first, a new container of it recreates this one, the
policy's hostNamespaces guards it, a foreign `container:` stays refused) and the engine's
arguments for them. Pure."""

from __future__ import annotations

from typing import Any

import pytest

from syncd.apply.gates import dependencies
from syncd.core.desired import DesiredState, resolve
from syncd.core.live import LiveState
from syncd.core.plan import Action, as_live, plan
from syncd.engine.base import Names
from syncd.engine.dockeropts import host_kwargs
from syncd.engine.dockeropts import security as security_opts
from syncd.errors import Severity
from syncd.ids import ServiceKey
from syncd.manifests import read_manifests
from syncd.policy import BUILTIN, Policy
from tests.planning import File

NAMESPACES = Policy.model_validate({"default": {"hostNamespaces": True}})

COMPOSE = """\
name: shop
services:
  db:
    image: busybox:1.36
    command: [sleep, "{sleep}"]
    ipc: shareable
  app:
    image: busybox:1.36
    pid: "service:db"
    ipc: service:db
"""

NATIVE = """\
kind: Stack
project: shop
services:
  db:
    image: busybox:1.36
    command: [sleep, "{sleep}"]
    ipc: shareable
  app:
    image: busybox:1.36
    pid: "service:db"
    ipc: service:db
"""


def _read(files: dict[str, str], policy: Policy = NAMESPACES) -> Any:
    return read_manifests([File(p, t.encode()) for p, t in files.items()], {}, policy=policy)


def _state(files: dict[str, str], revision: str = "r1", live: Any = None) -> DesiredState:
    manifests = _read(files)
    assert not manifests.errors, [str(p) for p in manifests.errors]
    return resolve(manifests, revision, live.last_applied() if live is not None else None)


def _specs(state: DesiredState) -> dict[str, dict[str, Any]]:
    [stack] = state.stacks.values()
    return {name: s.spec for name, s in stack.services.items()}


def _errors(files: dict[str, str], policy: Policy = NAMESPACES) -> list[str]:
    return [str(p) for p in _read(files, policy).problems if p.severity is Severity.ERROR]


@pytest.mark.parametrize(
    "files",
    [{"shop/compose.yaml": COMPOSE.format(sleep=60)}, {"shop.yaml": NATIVE.format(sleep=60)}],
)
def test_pid_and_ipc_of_another_service_in_the_canonical_spec(files: dict[str, str]) -> None:
    specs = _specs(_state(files))
    app = specs["app"]
    assert app["pid"] == "service:db" and app["ipc"] == "service:db"
    assert app["pidPeer"] == app["ipcPeer"]  # a digest of db's spec
    assert len(app["pidPeer"]) == 64
    assert "pidPeer" not in specs["db"] and specs["db"]["pid"] == ""


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [("shop/compose.yaml", COMPOSE, 10), ("shop.yaml", NATIVE, 11)],
)
def test_joining_an_ipc_namespace_needs_a_shareable_one(name: str, text: str, line: int) -> None:
    """Docker's default IPC mode is private: the engine refuses to join it; said at the line."""
    found = _errors({name: text.format(sleep=60).replace("    ipc: shareable\n", "")})
    assert any(f"{name}:{line - 1}:" in e and "/services/app/ipc" in e and "ipc: shareable" in e
               for e in found), found  # fmt: skip


def test_compose_and_native_give_one_spec() -> None:
    compose = _specs(_state({"shop/compose.yaml": COMPOSE.format(sleep=60)}))
    native = _specs(_state({"shop.yaml": NATIVE.format(sleep=60)}))
    for field in ("pid", "ipc", "pidPeer", "ipcPeer"):
        assert compose["app"][field] == native["app"][field]
    # Compose makes the other service an implicit dependency, restarted with it (compose-go)
    assert compose["app"]["dependsOn"] == {"db": "service_started"}
    assert compose["app"]["dependsOnRestart"] == ["db"]


@pytest.mark.parametrize(
    "files",
    [{"shop/compose.yaml": COMPOSE.format(sleep=60)}, {"shop.yaml": NATIVE.format(sleep=60)}],
)
def test_the_other_service_starts_first(files: dict[str, str]) -> None:
    state = _state(files)
    result = plan(state, LiveState())
    [stack] = result.stacks
    [app] = [c for c in stack.services if c.key.name == "app"]
    assert [k.name for k in dependencies(app)] == ["db"]


@pytest.mark.parametrize(
    ("name", "text"),
    [("shop/compose.yaml", COMPOSE), ("shop.yaml", NATIVE)],
)
def test_a_new_container_of_the_other_service_recreates_this_one(name: str, text: str) -> None:
    """Docker ties `container:<db>` to db's container: a new db needs a new app."""
    before = _state({name: text.format(sleep=60)}, "old")
    live = as_live(before)
    after = _state({name: text.format(sleep=61)}, "new", live)
    result = plan(after, live, base="old")
    actions = {c.key.name: c.action for s in result.stacks for c in s.services}
    assert actions["db"] is Action.RECREATE
    assert actions["app"] in (Action.RECREATE,)
    [app] = [c for s in result.stacks for c in s.services if c.key.name == "app"]
    assert {"pidPeer", "ipcPeer"} <= set(app.fields)
    same = plan(_state({name: text.format(sleep=60)}, "new", live), live, base="old")
    assert {c.action for s in same.stacks for c in s.services} == {Action.NONE}


@pytest.mark.parametrize(
    ("name", "text", "line", "key"),
    [
        ("shop/compose.yaml", COMPOSE, 9, "pid"),
        ("shop/compose.yaml", COMPOSE.replace('    pid: "service:db"\n', ""), 9, "ipc"),
        ("shop.yaml", NATIVE, 10, "pid"),
        ("shop.yaml", NATIVE.replace('    pid: "service:db"\n', ""), 10, "ipc"),
    ],
)
def test_sharing_a_namespace_needs_host_namespaces(
    name: str, text: str, line: int, key: str
) -> None:
    found = _errors({name: text.format(sleep=60)}, BUILTIN)
    assert any(
        f"{name}:{line}:" in e and key in e and "hostNamespaces" in e and "service:db" in e
        for e in found
    ), found
    assert _errors({name: text.format(sleep=60)}, NAMESPACES) == []


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("service:nope", "no deployed service 'nope'"),
        ("service:app", "itself"),
        ("container:foreign", "syncd never joins a container it did not create"),
        ("service:", "service:<service>"),
    ],
)
def test_bad_targets_are_located_compose_errors(value: str, words: str) -> None:
    text = COMPOSE.format(sleep=60).replace('pid: "service:db"', f'pid: "{value}"')
    found = _errors({"shop/compose.yaml": text})
    assert any("shop/compose.yaml:9:" in e and "/services/app/pid" in e and words in e
               for e in found), found  # fmt: skip


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("service:nope", "no service 'nope' in this stack"),
        ("service:app", "names the service itself"),
        ("container:foreign", "did not create"),
        ("bridge", "is not one of host, private, shareable, none or service:<service>"),
    ],
)
def test_bad_targets_are_located_native_errors(value: str, words: str) -> None:
    text = NATIVE.format(sleep=60).replace("ipc: service:db", f'ipc: "{value}"')
    found = _errors({"shop.yaml": text})
    assert any("shop.yaml:11:" in e and "/services/app/ipc" in e and words in e
               for e in found), found  # fmt: skip


def test_the_engine_joins_the_first_replica_of_the_other_service() -> None:
    names = Names("t1")
    key = ServiceKey("shop", "default", "app")
    options = {"pid": "service:db", "ipc": "service:db", "pidPeer": "x", "ipcPeer": "x"}
    db = names.container(ServiceKey("shop", "default", "db"))
    assert security_opts.shared_modes(names, key, options) == {
        "pid_mode": f"container:{db}",
        "ipc_mode": f"container:{db}",
    }
    assert "pid_mode" not in host_kwargs(options) and "ipc_mode" not in host_kwargs(options)
    assert host_kwargs({"pid": "host", "ipc": "shareable"}) == {
        "pid_mode": "host",
        "ipc_mode": "shareable",
    }
    assert security_opts.shared_modes(names, key, {"pid": "host", "ipc": ""}) == {}
