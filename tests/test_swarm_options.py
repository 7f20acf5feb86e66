"""The Swarm-only fields in the canonical spec (one `swarm` key, out of the Docker config hash)
and `swarm_options`, what the Swarm engine builds a service from (Swarm's defaults explicit).
Pure."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from syncd.core import canonical
from syncd.core.options.swarm import (
    NANO,
    RestartOptions,
    RolloutOptions,
    SwarmOptions,
    swarm_options,
)
from syncd.manifests.model import Service
from syncd.manifests.options.lifecycle import UpdateOrder
from syncd.manifests.options.swarm import (
    EndpointMode,
    FailureAction,
    PortMode,
    RestartCondition,
    ServiceMode,
)

SWARM_DEPLOY: dict[str, Any] = {
    "replicas": 2,
    "placement": {
        "constraints": ["node.role==worker", "node.labels.disk ==  ssd", "node.role == worker"],
        "preferences": [{"spread": "node.labels.zone"}],
        "maxReplicasPerNode": 1,
    },
    "updateConfig": {
        "parallelism": 1,
        "delay": "10s",
        "failureAction": "rollback",
        "monitor": "2s",
        "maxFailureRatio": 0.5,
        "order": "start-first",
    },
    "rollbackConfig": {"parallelism": 0, "order": "start-first"},
    "restartPolicy": {"condition": "on-failure", "delay": "1s", "maxAttempts": 3, "window": "1m"},
    "endpointMode": "dnsrr",
    "portModes": {"8080:80": "host"},
    "resources": {"reservations": {"cpus": "0.25", "memory": "32mb"}},
}


def _spec(body: dict[str, Any]) -> dict[str, Any]:
    return canonical.full(Service.model_validate({"image": "busybox:1.36", **body}))


def test_defaults_are_swarms_own() -> None:
    spec = _spec({})
    assert spec["swarm"] is None
    assert swarm_options(spec) == SwarmOptions(
        mode=ServiceMode.REPLICATED,
        replicas=1,
        update=RolloutOptions(1, 0, FailureAction.PAUSE, 5 * NANO, 0.0, UpdateOrder.STOP_FIRST),
        rollback=RolloutOptions(1, 0, FailureAction.PAUSE, 5 * NANO, 0.0, UpdateOrder.STOP_FIRST),
        restart=RestartOptions(RestartCondition.ANY, 5 * NANO, 0, 0),
        endpoint_mode=EndpointMode.VIP,
    )


def test_every_swarm_field_in_canonical_form_and_options() -> None:
    spec = _spec({"ports": ["8080:80/tcp", "9000:90/udp"], "deploy": SWARM_DEPLOY})
    assert spec["swarm"] == {
        "placement": {
            "constraints": ["node.labels.disk == ssd", "node.role == worker"],
            "preferences": ["node.labels.zone"],
            "maxReplicasPerNode": 1,
        },
        # parallelism 1 is Swarm's default: left out; the order is `updateOrder`
        "updateConfig": {
            "delay": 10.0,
            "failureAction": "rollback",
            "monitor": 2.0,
            "maxFailureRatio": 0.5,
        },
        "rollbackConfig": {"parallelism": 0, "order": "start-first"},
        "restartPolicy": {
            "condition": "on-failure",
            "delay": 1.0,
            "maxAttempts": 3,
            "window": 60.0,
        },
        "endpointMode": "dnsrr",
        "reservations": {"cpus": "0.25"},
        "portModes": {"8080:80/tcp": "host"},
    }
    # deploy.restartPolicy is the container's restart policy on Docker too
    assert (spec["restartPolicy"], spec["restartMaxRetries"]) == ("on-failure", 3)
    options = swarm_options(spec)
    assert options.replicas == 2 and options.mode is ServiceMode.REPLICATED
    assert options.constraints == ("node.labels.disk == ssd", "node.role == worker")
    assert options.preferences == ("node.labels.zone",)
    assert options.max_replicas_per_node == 1
    assert options.update == RolloutOptions(
        1, 10 * NANO, FailureAction.ROLLBACK, 2 * NANO, 0.5, UpdateOrder.START_FIRST
    )
    assert options.rollback == RolloutOptions(
        0, 0, FailureAction.PAUSE, 5 * NANO, 0.0, UpdateOrder.START_FIRST
    )
    assert options.restart == RestartOptions(RestartCondition.ON_FAILURE, NANO, 3, 60 * NANO)
    assert options.endpoint_mode is EndpointMode.DNSRR
    assert (options.reserve_nano_cpus, options.reserve_memory_bytes) == (NANO // 4, 32 << 20)
    assert options.port_mode("8080:80") is PortMode.HOST
    assert options.port_mode("9000:90/udp") is PortMode.INGRESS


def test_global_mode_has_no_replica_count() -> None:
    options = swarm_options(_spec({"deploy": {"mode": "global"}}))
    assert options.mode is ServiceMode.GLOBAL and options.replicas is None


def test_written_defaults_equal_omitted_ones() -> None:
    written = {
        "mode": "replicated",
        "endpointMode": "vip",
        "placement": {"constraints": [], "preferences": []},
        "updateConfig": {"parallelism": 1, "delay": "0s", "failureAction": "pause"},
        "rollbackConfig": {"monitor": "5s", "maxFailureRatio": 0, "order": "stop-first"},
        "restartPolicy": {"condition": "any", "delay": "5s", "maxAttempts": 0, "window": "0s"},
        "portModes": {"80:80": "ingress"},
    }
    # condition any (Compose's default) is the container policy `always` on Docker
    omitted = _spec({"ports": ["80:80"], "restartPolicy": "always"})
    assert _spec({"ports": ["80:80"], "deploy": written}) == omitted


def test_restart_follows_the_container_policy_unless_deploy_says() -> None:
    assert swarm_options(_spec({"restartPolicy": "on-failure:4"})).restart == RestartOptions(
        RestartCondition.ON_FAILURE, 5 * NANO, 4, 0
    )
    assert swarm_options(_spec({"restartPolicy": "unless-stopped"})).restart.condition is (
        RestartCondition.ANY
    )
    never = _spec({"deploy": {"restartPolicy": {"condition": "none"}}})
    assert never["restartPolicy"] == "no"
    assert swarm_options(never).restart.condition is RestartCondition.NONE


@pytest.mark.parametrize(
    ("deploy", "words"),
    [
        ({"mode": "global", "replicas": 2}, "replicas is for mode replicated"),
        ({"mode": "global", "placement": {"maxReplicasPerNode": 2}}, "for mode replicated"),
        ({"mode": "both"}, "'replicated' or 'global'"),
        ({"placement": {"maxReplicasPerNode": 0}}, "greater than or equal to 1"),
        ({"placement": {"constraints": ["zone=a"]}}, "is not a Swarm constraint"),
        ({"placement": {"constraints": ["node.role == boss"]}}, "manager or worker"),
        ({"placement": {"preferences": [{"spread": "zone"}]}}, "node.labels.<label>"),
        ({"updateConfig": {"failureAction": "retry"}}, "'pause', 'continue' or 'rollback'"),
        ({"updateConfig": {"delay": "soon"}}, "is not a duration"),
        ({"updateConfig": {"parallelism": -1}}, "greater than or equal to 0"),
        ({"rollbackConfig": {"maxFailureRatio": 1.5}}, "less than or equal to 1"),
        ({"restartPolicy": {"condition": "always"}}, "'none', 'on-failure' or 'any'"),
        ({"endpointMode": "ipvs"}, "'vip' or 'dnsrr'"),
        ({"portModes": {"81:81": "host"}}, "not in ports"),
    ],
)
def test_bad_swarm_values_are_refused(deploy: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError, match=words.replace("(", r"\(")):
        Service.model_validate({"image": "x", "ports": ["80:80"], "deploy": deploy})


def test_restart_policies_that_differ_are_refused() -> None:
    body = {"restartPolicy": "always", "deploy": {"restartPolicy": {"condition": "none"}}}
    with pytest.raises(ValidationError, match="differ"):
        Service.model_validate({"image": "x", **body})


def test_swarm_fields_leave_the_docker_hash_and_container_alone() -> None:
    """Adding every Swarm-only field changes neither the config hash nor what needs a new
    container (the plan records it as metadata only)."""
    base = {"ports": ["8080:80/tcp"], "restartPolicy": "always"}
    plain = _spec({**base, "deploy": {"replicas": 2}})
    swarm_only = {k: v for k, v in SWARM_DEPLOY.items() if k != "restartPolicy"}
    # the Swarm-only parts (an update order, a memory reservation, a restart condition mean
    # something on Docker too)
    swarm_only["restartPolicy"] = {"delay": "1s", "window": "1m"}
    swarm_only["updateConfig"] = {
        k: v for k, v in SWARM_DEPLOY["updateConfig"].items() if k != "order"
    }
    swarm_only["resources"] = {"reservations": {"cpus": "0.25"}}
    tuned = _spec({**base, "deploy": swarm_only})
    assert tuned["swarm"] is not None and plain["swarm"] is None
    assert canonical.config_hash(tuned) == canonical.config_hash(plain)
    assert canonical.recreate_fields(plain, tuned) == []
    assert canonical.changed_fields(plain, tuned) == ["swarm"]
