"""The canonical form, field by field: what a manifest's service becomes (and so what is hashed,
compared and recorded). A change here changes every container's config hash, so the hash itself
is pinned. Pure."""

from __future__ import annotations

import hashlib
from typing import Any

from syncd.core import canonical, options
from syncd.core.canonical import canonical_json, config_hash, escape, redact
from syncd.manifests.model import Service


def _fields(body: dict[str, Any]) -> dict[str, Any]:
    return canonical.fields(Service.model_validate(body))


def test_every_given_field_in_its_canonical_form() -> None:
    spec = _fields(
        {
            "image": "busybox:1.36",
            "description": "d",
            "command": ["sleep", "1"],
            "entrypoint": ["/bin/sh", "-c"],
            "environment": {"B": "2", "A": "1"},
            "ports": ["8080:80/tcp", "8080:80/tcp", "53/udp"],
            "volumes": ["data:/data", "/up:/srv:ro"],
            "deploy": {"resources": {"limits": {"cpus": "0.50", "memory": "8mb"}}},
            "restartPolicy": "always",
            "healthcheck": {"test": "wget -q localhost", "interval": "5s", "retries": 7},
            "dependsOn": {"z": "service_started", "a": "service_healthy"},
        }
    )
    assert spec == {
        "image": "busybox:1.36",
        "description": "d",
        "command": ["sleep", "1"],
        "entrypoint": ["/bin/sh", "-c"],
        "environment": {"A": "1", "B": "2"},
        "ports": ["53/udp", "8080:80/tcp"],
        "volumes": ["/up:/srv:ro", "data:/data:rw"],
        "cpus": "0.5",
        "memory": 8388608,
        "restartPolicy": "always",
        "healthcheck": {
            "test": ["CMD-SHELL", "wget -q localhost"],
            "interval": 5.0,
            "timeout": 30.0,
            "startPeriod": 0.0,
            "retries": 7,
        },
        "dependsOn": {"a": "service_healthy", "z": "service_started"},
        # lifecycle options of the fields given (deploy, restartPolicy, dependsOn)
        "replicas": 1,
        "updateOrder": "stop-first",
        "restartMaxRetries": 0,
        "dependsOnRestart": [],
        "dependsOnOptional": [],
        "swarm": None,  # deploy given: its Swarm-only part, none here
    }
    assert list(spec["environment"]) == ["A", "B"] and list(spec["dependsOn"]) == ["a", "z"]


def test_healthcheck_durations_and_a_list_test() -> None:
    check = _fields(
        {"healthcheck": {"test": ["CMD", "true"], "timeout": "2s", "startPeriod": "1m"}}
    )["healthcheck"]
    assert check == {
        "test": ["CMD", "true"],
        "interval": 30.0,
        "timeout": 2.0,
        "startPeriod": 60.0,
        "retries": 3,
    }


def test_omitted_fields_are_not_given_and_full_adds_the_defaults() -> None:
    assert _fields({"image": "busybox:1.36"}) == {"image": "busybox:1.36"}
    assert _fields({"deploy": {}}) == {
        "cpus": None,
        "memory": None,
        "replicas": 1,
        "updateOrder": "stop-first",
        "swarm": None,
    }
    assert _fields({"healthcheck": None}) == {"healthcheck": None}
    assert _fields({"description": None}) == {"description": ""}
    full = canonical.full(Service.model_validate({"image": "busybox:1.36"}))
    assert full == {**canonical.DEFAULTS, "image": "busybox:1.36"}


def test_merge_keeps_omitted_fields_and_shares_nothing() -> None:
    last = {"image": "a:1", "environment": {"A": "1"}, "ports": ["80/tcp"]}
    merged = canonical.merge(last, {"image": "a:2"})
    assert merged == {
        **canonical.DEFAULTS,
        "image": "a:2",
        "environment": {"A": "1"},
        "ports": ["80/tcp"],
    }
    merged["environment"]["A"] = "changed"
    merged["volumes"].append("x:/x:rw")
    assert last["environment"] == {"A": "1"} and canonical.DEFAULTS["volumes"] == []


def test_recreate_and_changed_fields() -> None:
    before = {"image": "a:1", "description": "x", "dependsOn": {}}
    after = {"image": "a:2", "description": "y", "dependsOn": {"db": "service_started"}}
    assert canonical.recreate_fields(before, after) == ["image"]
    assert canonical.changed_fields(before, after) == ["dependsOn", "description", "image"]
    assert canonical.changed_fields(before, dict(before)) == []


def test_canonical_json_is_sorted_compact_and_keeps_unicode() -> None:
    assert canonical_json({"b": [1, 2], "a": "ü"}) == '{"a":"ü","b":[1,2]}'


def test_the_config_hash_is_stable_across_releases() -> None:
    """Pinned: a different hash for the same spec would recreate every container on upgrade."""
    spec = {"image": "busybox:1.36", "environment": {"A": "ü"}}
    assert config_hash(spec) == config_hash(dict(reversed(list(spec.items()))))
    assert config_hash(spec) == "61e86dd233519694806e550ccfcad8f4132407bfe8c790235996fc206c1871c4"
    documented = canonical_json({"spec": spec, "imageId": "sha256:abc"})  # DESIGN.md's formula
    assert config_hash(spec, "sha256:abc") == hashlib.sha256(documented.encode()).hexdigest()
    assert (
        config_hash(spec, "sha256:abc")
        == "f14c88f3bd645ee490509dffbdc4ff5fa660883d6ca55e7ae12cc56ba7213779"
    )


def test_escape_follows_rfc_6901() -> None:
    assert escape("a/b~c") == "a~1b~0c"
    assert escape("~1") == "~01"


def test_redact_reaches_into_maps_and_lists_only_where_secret() -> None:
    value = {"env": {"A": "s1", "B": "plain"}, "cmd": ["x", "s2"], "n": 1}
    shown = redact(value, "", {"/env/A", "/cmd/1"})
    assert shown == {"env": {"A": "<redacted>", "B": "plain"}, "cmd": ["x", "<redacted>"], "n": 1}
    assert redact(value, "", set()) is value
    assert redact("s3", "/env/a~1b", {"/env/a~1b"}) == "<redacted>"
    assert redact({"a/b": "s4"}, "/env", {"/env/a~1b"}) == {"a/b": "<redacted>"}
    assert redact("s5", "/cmd/0", {"/cmd"}) == "<redacted>"  # inside a secret list
    assert redact("plain", "/cmdline", {"/cmd"}) == "plain"  # a prefix of a name is not a parent


def test_upgraded_adds_only_the_option_fields_a_record_lacks() -> None:
    like = canonical.full(Service.model_validate({"image": "busybox:1.36"}))
    complete = dict(like)
    assert canonical.upgraded(complete, like) is complete  # nothing lacking: the same spec
    old = {k: v for k, v in like.items() if k not in options.DEFAULTS}
    upgraded = canonical.upgraded(old, like)
    assert upgraded == like and old != like  # each option field at its default
    assert canonical.upgraded({}, like) == {}  # unknown stays unknown
