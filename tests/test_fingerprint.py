"""`syncd.core.fingerprint`: one stable digest of what runs, and the parts that name what moved."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest

from syncd.core.fingerprint import live_fingerprint, live_parts
from syncd.core.live import LiveService, LiveStack, LiveState, LiveVolume, Replica, ServiceStatus
from syncd.ids import ServiceKey, StackKey, VolumeKey

STACK = StackKey("shop", "default")
WEB = ServiceKey("shop", "default", "web")
DB = ServiceKey("shop", "default", "db")


def service(key: ServiceKey, **changes: object) -> LiveService:
    base = LiveService(
        key=key,
        spec={"image": "busybox:1.36", "environment": {"TOKEN": "s3cret-value"}},
        hash="h-" + key.name,
        status=ServiceStatus.RUNNING,
        revision="r1",
        container_id="c-" + key.name,
        image_id="sha256:img",
        replicas=(Replica(1, "c-" + key.name, ServiceStatus.RUNNING, ("127.0.0.1:8080->80/tcp",)),),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def state(*services: LiveService, volumes: dict[str, LiveVolume] | None = None) -> LiveState:
    stack = LiveStack(
        STACK, {s.key.name: s for s in services}, volumes or {"data": LiveVolume(VOLUME)}
    )
    return LiveState({STACK: stack}, frozenset({"shop"}))


VOLUME = VolumeKey("shop", "default", "data")


def test_equal_states_have_equal_fingerprints_whatever_the_order() -> None:
    one = state(service(WEB), service(DB))
    other = state(service(DB), service(WEB))
    assert live_fingerprint(one) == live_fingerprint(other)
    assert list(live_parts(one)) == [
        "network:shop",
        "service:shop/default/db",
        "service:shop/default/web",
        "volume:shop/default/data",
    ]
    digest = live_fingerprint(one)
    assert len(digest) == 64 and int(digest, 16) >= 0  # sha256 hex
    text = json.dumps(live_parts(one), sort_keys=True, separators=(",", ":"))
    assert digest == hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize(
    ("changes", "moved"),
    [
        ({"container_id": "c-other", "replicas": ()}, "service:shop/default/web"),
        ({"status": ServiceStatus.STOPPED}, "service:shop/default/web"),
        ({"image_id": "sha256:new"}, "service:shop/default/web"),
        ({"operator_stopped": True}, "service:shop/default/web"),
        ({"revision": "r2"}, "service:shop/default/web"),
        (
            {
                "replicas": (
                    Replica(1, "c-web", ServiceStatus.STOPPED, ("127.0.0.1:8080->80/tcp",)),
                )
            },
            "service:shop/default/web",
        ),
        (
            {"replicas": (Replica(1, "c-web", ServiceStatus.RUNNING, ()),)},
            "service:shop/default/web",
        ),
    ],
)
def test_each_fact_of_a_service_moves_its_part_only(changes: dict[str, object], moved: str) -> None:
    before = state(service(WEB), service(DB))
    after = state(service(WEB, **changes), service(DB))
    assert live_fingerprint(before) != live_fingerprint(after)
    old, new = live_parts(before), live_parts(after)
    assert [k for k in old if old[k] != new[k]] == [moved]


def test_volumes_networks_and_removed_services_are_named() -> None:
    before = state(service(WEB), service(DB))
    orphaned = state(service(WEB), service(DB), volumes={"data": LiveVolume(VOLUME, orphaned=True)})
    old, new = live_parts(before), live_parts(orphaned)
    assert [k for k in old if old[k] != new[k]] == ["volume:shop/default/data"]
    gone = live_parts(state(service(WEB)))
    assert set(old) - set(gone) == {"service:shop/default/db"}
    without_network = dataclasses.replace(before, networks=frozenset())
    assert set(old) - set(live_parts(without_network)) == {"network:shop"}


def test_the_spec_and_its_hash_are_not_read_and_no_value_shows() -> None:
    """The container ids stand for the spec: a spec read back differently (a secret restored
    from its digest) does not move the fingerprint, nor does the config hash, which is derived
    from the spec's values, secrets included; no value is in the parts."""
    plain = state(service(WEB))
    restored = state(service(WEB, spec={"image": "busybox:1.36"}))
    assert live_fingerprint(plain) == live_fingerprint(restored)
    assert live_fingerprint(plain) == live_fingerprint(state(service(WEB, hash="h-other")))
    assert "s3cret-value" not in json.dumps(live_parts(plain))


@pytest.mark.parametrize("status", [ServiceStatus.STARTING, ServiceStatus.STOPPING])
def test_a_container_up_in_another_state_is_no_move(status: ServiceStatus) -> None:
    """A health check still starting when the plan was saved, healthy at apply: the plan is
    the same (a plan only starts what is down), so the saved plan must not be refused."""
    running = state(service(WEB), service(DB))
    replica = Replica(1, "c-web", status, ("127.0.0.1:8080->80/tcp",))
    other = state(service(WEB, status=status, replicas=(replica,)), service(DB))
    assert live_fingerprint(running) == live_fingerprint(other)
    down = Replica(1, "c-web", ServiceStatus.ERROR, ("127.0.0.1:8080->80/tcp",))
    failed = state(service(WEB, status=ServiceStatus.ERROR, replicas=(down,)), service(DB))
    assert live_fingerprint(running) != live_fingerprint(failed)  # down: a plan starts it
