"""A stack's volumes without an engine: Compose and the native `Stack` kind give one desired
state (external, anonymous, driver, driver_opts, labels); the policy guards external volumes,
plugins and kernel mounts at their line; a changed declaration of an existing volume is a
warning of the plan, never an action."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from syncd.core import plan as planning
from syncd.core.desired import DesiredState, resolve
from syncd.core.live import LiveStack, LiveState, LiveVolume
from syncd.core.options import volumes as volume_options
from syncd.core.plan import Reason, VolumeAction
from syncd.core.runspec import container_request
from syncd.ids import ServiceKey, StackKey
from syncd.manifests import read_manifests
from syncd.policy import BUILTIN, Policy
from syncd.render.text import render_text
from tests.planning import File

COMPOSE = """\
name: shop
services:
  db:
    image: busybox:1.36
    volumes:
      - /var/lib/data
      - shared:/shared:ro
      - type: volume
        source: cache
        target: /cache
        volume: {nocopy: true}
    deploy: {replicas: 2}
volumes:
  shared: {external: true, name: team-shared}
  cache:
    driver: local
    driver_opts: {type: tmpfs, device: tmpfs, o: "size=8m"}
    labels: {com.example.tier: 1}
"""
NATIVE = """\
kind: Stack
project: shop
services:
  db:
    image: busybox:1.36
    volumes:
      - {type: volume, target: /var/lib/data}
      - "shared:/shared:ro"
      - {type: volume, source: cache, target: /cache, volume: {nocopy: true}}
    deploy: {replicas: 2}
volumes:
  shared: {external: true, name: team-shared}
  cache:
    driver: local
    driverOpts: {type: tmpfs, device: tmpfs, o: "size=8m"}
    labels: {com.example.tier: "1"}
"""
SHOP = StackKey("shop", "default")
ALLOW = Policy.model_validate({"default": {"externalVolumes": ["team-shared"]}})


def _desired(path: str, text: str, policy: Policy = ALLOW) -> DesiredState:
    manifests = read_manifests([File(path, text.encode())], {}, policy=policy)
    assert not manifests.errors, [str(p) for p in manifests.errors]
    return resolve(manifests, "r1")


def _compose(volume: str) -> str:
    return (
        "services:\n  app:\n    image: busybox:1.36\n    volumes: ['v:/v']\n"
        f"volumes:\n  v: {volume}\n"
    )


def _native(volume: str) -> str:
    return (
        "kind: Stack\nproject: acc\nservices:\n  app:\n    image: busybox:1.36\n"
        f"volumes:\n  v: {volume}\n"
    )


def _errors(path: str, text: str, policy: Policy = BUILTIN) -> list[str]:
    return [str(p) for p in read_manifests([File(path, text.encode())], {}, policy=policy).errors]


def test_compose_and_the_native_stack_give_one_desired_state() -> None:
    compose = _desired("shop/compose.yaml", COMPOSE).stacks[SHOP]
    native = _desired("shop.yaml", NATIVE).stacks[SHOP]
    assert compose.services["db"].spec == native.services["db"].spec
    assert compose.volumes == native.volumes
    volumes = compose.services["db"].spec["volumes"]
    assert {"type": "anonymous", "target": "/var/lib/data", "readOnly": False} in volumes
    assert {"type": "external", "source": "team-shared", "volume": "shared",
            "target": "/shared", "readOnly": True} in volumes  # fmt: skip
    assert compose.volumes["cache"].declared == {
        "driver": "local",
        "driverOpts": {"device": "tmpfs", "o": "size=8m", "type": "tmpfs"},
        "labels": {"com.example.tier": "1"},
    }
    assert "shared" not in compose.volumes  # never created by syncd
    anonymous = sorted(v for v in compose.volumes if v.startswith("_anon."))
    assert len(anonymous) == 2  # one per replica
    spec = {"replicas": 2, "volumes": volumes}
    assert anonymous == sorted(volume_options.anonymous_volumes("db", spec))


def test_each_replica_mounts_its_own_anonymous_volume_and_the_external_one_by_name() -> None:
    service = _desired("shop/compose.yaml", COMPOSE).stacks[SHOP].services["db"]
    mounts = {}
    for replica in (1, 2):
        request = container_request(
            service, instance="t", revision="r1", files=lambda p, s: s, replica=replica
        )
        mounts[replica] = {m.target: m for m in request.mounts}
    first, second = mounts[1]["/var/lib/data"], mounts[2]["/var/lib/data"]
    assert first.source != second.source and not first.bind and not first.external
    assert first.source == volume_options.anonymous_name("db", "/var/lib/data", 1)
    shared = mounts[1]["/shared"]
    assert (shared.source, shared.external, shared.read_only) == ("team-shared", True, True)
    assert mounts[1]["/cache"].no_copy


def test_an_anonymous_volume_name_is_stable_and_never_a_declared_name() -> None:
    name = volume_options.anonymous_name("db", "/var/lib/data")
    assert name == volume_options.anonymous_name("db", "/var/lib/data")
    assert name != volume_options.anonymous_name("db", "/var/lib/other")
    assert name != volume_options.anonymous_name("web", "/var/lib/data")
    text = COMPOSE.replace("  cache:\n", f"  {name}:\n", 1)  # a declared volume of that name
    assert _errors("shop/compose.yaml", text, ALLOW)  # the model refuses it: not a volume name


@pytest.mark.parametrize(
    ("volume", "where", "needs"),
    [
        ("{driver_opts: {type: none, o: bind, device: /srv/data}}",
         "6:50: /volumes/v/driver_opts/device", "add '/srv/data' to hostPaths"),
        ("{driver_opts: {type: nfs, o: 'addr=10.0.0.1', device: ':/export'}}",
         "6:27: /volumes/v/driver_opts/type", "add 'nfs' to volumeTypes"),
        ("{driver: rexray/ebs}", "6:15: /volumes/v/driver", "add 'rexray/ebs' to volumeDrivers"),
        ("{external: true}", "6:17: /volumes/v/external", "add 'v' to externalVolumes"),
        ("{external: {name: legacy}}", "6:17: /volumes/v/external",
         "add 'legacy' to externalVolumes"),
    ],
)  # fmt: skip
def test_the_policy_refuses_each_volume_at_its_line_with_its_key(
    volume: str, where: str, needs: str
) -> None:
    text = _compose(volume)
    [error] = _errors("acc/compose.yaml", text)
    assert f"acc/compose.yaml:{where}: " in error, error
    assert needs in error, error
    native = _native(volume.replace("driver_opts", "driverOpts"))
    [error] = _errors("acc.yaml", native)
    assert "acc.yaml:7:" in error and needs in error, error


def test_the_policy_allows_what_it_names_and_a_tmpfs_needs_nothing() -> None:
    bind = "{type: none, o: bind, device: /srv/data/x}"
    text = _compose("{driver_opts: " + bind + "}")
    paths = Policy.model_validate({"default": {"hostPaths": ["/srv/data"]}})
    assert _errors("acc/compose.yaml", text, paths) == []
    assert _errors("acc/compose.yaml", text.replace(bind, "{type: tmpfs, device: tmpfs}")) == []
    types = Policy.model_validate({"default": {"volumeTypes": ["nfs"]}})
    nfs = text.replace(bind, "{type: nfs, device: ':/x'}")
    assert _errors("acc/compose.yaml", nfs, types) == []
    assert _errors("acc/compose.yaml", nfs) != []


@pytest.mark.parametrize(
    ("volume", "message"),
    [
        ("{external: true, driver: local}", "an external volume is used as it is: driver"),
        ("{labels: {syncd.volume: x}}", "syncd"),
        ("{external: true, name: 'a b'}", "is not a Docker volume name"),
    ],
)
def test_a_volume_the_model_refuses_is_a_located_error(volume: str, message: str) -> None:
    native = _native(volume)
    policy = Policy.model_validate({"default": {"externalVolumes": ["*"]}})
    errors = _errors("acc.yaml", native, policy)
    assert errors and "acc.yaml:7:" in errors[0] and message in errors[0], errors


def _live(declared: dict[str, Any] | None) -> LiveStack:
    """The desired stack as applied, its `cache` volume as the engine reports it."""
    live = planning.as_live(_desired("shop/compose.yaml", COMPOSE)).stacks[SHOP]
    cache = LiveVolume(SHOP.volume("cache"), declared=declared)
    return dataclasses.replace(live, volumes={**live.volumes, "cache": cache})


def test_a_changed_declaration_is_a_warning_never_an_action() -> None:
    desired = _desired("shop/compose.yaml", COMPOSE).stacks[SHOP]
    declared = dict(desired.volumes["cache"].declared)
    same = planning.plan_stack(desired, _live(declared))
    [cache] = [v for v in same.volumes if v.key.name == "cache"]
    assert (cache.action, cache.reason, cache.differs) == (VolumeAction.NONE, Reason.UNCHANGED, ())
    other = {**declared, "labels": {"com.example.tier": "2"}, "driverOpts": {}}
    changed = planning.plan_stack(desired, _live(other))
    [cache] = [v for v in changed.volume_changes if v.key.name == "cache"]
    assert (cache.action, cache.reason) == (VolumeAction.NONE, Reason.VOLUME_DIFFERS)
    assert cache.differs == ("driverOpts", "labels")
    assert not changed.changed  # nothing to apply: no sync loop
    text = render_text(planning.Plan(None, "r1", (changed,)))
    assert "volume shop/default/cache: none (its driverOpts, labels differ" in text, text
    assert "tier" not in text  # names only, never a value
    unknown = planning.plan_stack(desired, _live(None))  # a revision-to-revision plan
    assert not [v for v in unknown.volumes if v.key.name == "cache" and v.differs]


def test_a_service_that_stops_using_its_anonymous_volume_leaves_it_orphaned() -> None:
    before = _desired("shop/compose.yaml", COMPOSE)
    live = planning.as_live(before).stacks[SHOP]
    after = _desired("shop/compose.yaml", COMPOSE.replace("      - /var/lib/data\n", ""))
    stack = planning.plan_stack(after.stacks[SHOP], live)
    detached = sorted(v.key.name for v in stack.volume_changes if v.action is VolumeAction.DETACH)
    assert len(detached) == 2 and all(n.startswith("_anon.") for n in detached)
    assert ServiceKey("shop", "default", "db") in {c.key for c in stack.services}


def test_an_external_volume_named_from_the_environment_is_redacted() -> None:
    text = COMPOSE.replace("name: team-shared", 'name: "${SHARED_NAME}"')
    env = {"SHARED_NAME": "tenant-secret-volume"}
    policy = Policy.model_validate({"default": {"externalVolumes": ["*"]}})
    manifests = read_manifests([File("shop/compose.yaml", text.encode())], env, policy=policy)
    assert not manifests.errors, [str(p) for p in manifests.errors]
    service = resolve(manifests, "r1").stacks[SHOP].services["db"]
    [index] = [i for i, e in enumerate(service.spec["volumes"]) if e.get("type") == "external"]
    assert service.spec["volumes"][index]["source"] == "tenant-secret-volume"
    assert f"/volumes/{index}" in service.secrets
    shown = render_text(planning.plan(resolve(manifests, "r1"), LiveState()))
    assert "tenant-secret-volume" not in shown and "<redacted>" in shown, shown


def test_an_anonymous_volume_carries_its_labels_and_a_named_one_says_where_they_go() -> None:
    text = COMPOSE.replace(
        "      - /var/lib/data\n",
        "      - {type: volume, target: /var/lib/data, volume: {labels: {com.example.a: 1}}}\n",
    )
    stack = _desired("shop/compose.yaml", text).stacks[SHOP]
    anonymous = [v for n, v in stack.volumes.items() if n.startswith("_anon.")]
    assert len(anonymous) == 2
    assert all(v.declared["labels"] == {"com.example.a": "1"} for v in anonymous)
    named = COMPOSE.replace("volume: {nocopy: true}", "volume: {labels: {com.example.a: b}}")
    manifests = read_manifests([File("shop/compose.yaml", named.encode())], {}, policy=ALLOW)
    assert not manifests.errors
    assert any("top-level 'labels'" in w.message for w in manifests.warnings), manifests.warnings
    native = NATIVE.replace("volume: {nocopy: true}", "volume: {labels: {com.example.a: b}}")
    [error] = _errors("shop.yaml", native, ALLOW)
    assert "volumes.<name>.labels" in error and "shop.yaml:9:9:" in error, error
