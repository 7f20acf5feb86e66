"""`keyprobe` finds the keys a check reads, and a check that lists the mapping or finds
something in an empty one is never skipped; the policy walk skips nothing it would refuse."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncd.manifests.keyprobe import keys_read, may_find
from syncd.manifests.policyguard import _walks, compose_findings
from syncd.policy import BUILTIN


def _reads_two(mapping: Mapping[str, Any]) -> list[str]:
    found = []
    if mapping.get("a") is not None:
        found.append("a")
        if "c" in mapping:  # read only when `a` is there: `a` stands for it
            found.append("c")
    if "b" in mapping:
        found.append("b")
    return found


def test_the_keys_read_of_an_empty_mapping_and_when_to_skip() -> None:
    keys = keys_read(_reads_two)
    assert keys == frozenset({"a", "b"})
    assert not may_find(keys, {"c": 1, "z": 2})
    assert may_find(keys, {"a": 1})
    assert _reads_two({"c": 1, "z": 2}) == []  # skipping it there loses nothing


def test_a_check_that_lists_the_mapping_or_finds_in_an_empty_one_is_always_run() -> None:
    assert keys_read(list) is None
    assert keys_read(lambda m: [k for k, _ in m.items()]) is None
    assert keys_read(lambda m: ["always"]) is None
    assert may_find(None, {})


def test_every_policy_walk_reads_keys_and_each_key_still_refuses() -> None:
    for camel in (False, True):
        for project_files in (False, True):
            for _, keys in _walks(camel, project_files):
                assert keys, "a walk that reads no key would be skipped everywhere"
    allowed = BUILTIN.allowed("p")
    service = {
        "image": "busybox:1.36",
        "ports": ["0.0.0.0:80:80"],
        "cap_add": ["SYS_ADMIN"],
        "sysctls": {"vm.swappiness": "1"},
        "logging": {"driver": "syslog"},
        "pid": "host",
        "devices": ["/dev/sda"],
        "volumes": ["/etc:/x"],
    }
    found = {f.path[2] for f in compose_findings(allowed, {"services": {"s": service}})}
    assert found == {"ports", "cap_add", "sysctls", "logging", "pid", "devices", "volumes"}
