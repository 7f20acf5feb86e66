"""ulimits that grant a capability's power need that capability in the operator's policy."""

from __future__ import annotations

from typing import Any

import pytest

from syncd.manifests.policyguard import compose_findings
from syncd.policy import Allowed, PolicyKey


def _service(key: str, ulimits: dict[str, Any]) -> dict[str, Any]:
    return {"services": {"web": {"image": "busybox:1.36", key: ulimits}}}


@pytest.mark.parametrize("key", ["ulimits"])
@pytest.mark.parametrize(
    ("ulimits", "name", "capability"),
    [
        ({"rtprio": 99}, "rtprio", "SYS_NICE"),  # real-time scheduling: starves the host's CPUs
        ({"rtprio": {"soft": 0, "hard": 1}}, "rtprio", "SYS_NICE"),  # soft can go up to hard
        ({"rtprio": -1}, "rtprio", "SYS_NICE"),  # unlimited
        ({"nice": 40}, "nice", "SYS_NICE"),  # nice -20: above the host's own processes
        ({"nice": {"soft": -1, "hard": -1}}, "nice", "SYS_NICE"),
        ({"memlock": -1}, "memlock", "IPC_LOCK"),
        ({"memlock": 1 << 40}, "memlock", "IPC_LOCK"),
    ],
)
def test_a_ulimit_with_a_capabilitys_power_needs_the_capability(
    key: str, ulimits: dict[str, Any], name: str, capability: str
) -> None:
    data = _service(key, ulimits)
    [finding] = compose_findings(Allowed(project="p"), data)
    assert finding.path == ("services", "web", key, name)
    assert finding.refusal.key is PolicyKey.CAPABILITIES
    assert f"add {capability} to capabilities" in str(finding.refusal)
    # the native kind spells it the same; the capability (or ALL) allows it
    assert compose_findings(Allowed(project="p"), data, project_files=True)
    assert not compose_findings(Allowed(project="p", capabilities=frozenset({capability})), data)
    assert not compose_findings(Allowed(project="p", capabilities=frozenset({"ALL"})), data)


@pytest.mark.parametrize(
    "ulimits",
    [
        {"nofile": {"soft": 20000, "hard": 40000}},
        {"nproc": 65535, "rtprio": 0, "nice": 20, "memlock": 8 * 1024 * 1024},
        {"rtprio": {"soft": 0, "hard": 0}},
        {"rtprio": "lots"},  # the model reports it
    ],
)
def test_ordinary_ulimits_need_no_policy(ulimits: dict[str, Any]) -> None:
    assert not compose_findings(Allowed(project="p"), _service("ulimits", ulimits))
