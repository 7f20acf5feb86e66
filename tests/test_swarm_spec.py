"""The Swarm ServiceSpec syncd sends, its normal form (what Swarm adds left out), the drift
check, the deploy fields from the canonical spec, and the engine settings. Pure: no Docker."""

from __future__ import annotations

import argparse
import copy
from pathlib import Path
from typing import Any

import pytest

from syncd.apply.swarmdeploy import deploy_of
from syncd.engine import connect
from syncd.engine.base import ContainerRequest, Mount, Names, Port
from syncd.engine.swarmspec import (
    FILE_TOKEN,
    LABEL_DIGEST,
    LABEL_REPLICAS,
    FileRef,
    SwarmDeploy,
    digest,
    drifted,
    normalise,
    service_spec,
)
from syncd.errors import SyncdError
from syncd.ids import ServiceKey
from syncd.settings import EngineKind, Settings, add_arguments, from_args

KEY = ServiceKey("shop", "default", "web")


def _request(**changes: Any) -> ContainerRequest:
    base: dict[str, Any] = {
        "key": KEY,
        "image": "busybox:1.36",
        "labels": {"syncd.instance": "blue", "syncd.hash": "h1"},
        "command": ("httpd", "-f"),
        "environment": {"B": "2", "A": "1"},
        "mounts": (
            Mount("/data", "data"),
            Mount("/tmp/x", "", tmpfs=True, tmpfs_size=1024),
            Mount("/etc/app.conf", f"{FILE_TOKEN}0", bind=True, read_only=True),
            Mount("/run/secrets/t", f"{FILE_TOKEN}1", bind=True, read_only=True),
        ),
        "ports": (Port(8080, "tcp", 18080), Port(9000, "tcp")),
        "options": {"init": True, "extraHosts": ["db.local:10.0.0.5"]},
    }
    return ContainerRequest(**{**base, **changes})


FILES = {
    f"{FILE_TOKEN}0": FileRef(False, "blue_shop_default_web_abc", "cfg1"),
    f"{FILE_TOKEN}1": FileRef(True, "blue_shop_default_web_def", "sec1", mode=0o400),
}


def _spec(deploy: SwarmDeploy | None = None, **changes: Any) -> dict[str, Any]:
    return service_spec(_request(**changes), deploy or SwarmDeploy(), Names("blue"), "net1", FILES)


def test_the_spec_carries_the_request_as_swarm_names_it() -> None:
    spec = _spec(SwarmDeploy(replicas=2, endpoint_mode="dnsrr", port_modes={8080: "host"}))
    container = spec["TaskTemplate"]["ContainerSpec"]
    assert spec["Name"] == "blue_shop_default_web"
    assert spec["Mode"] == {"Replicated": {"Replicas": 2}}
    assert spec["Labels"][LABEL_REPLICAS] == "2" and LABEL_DIGEST in spec["Labels"]
    assert "Command" not in container and container["Args"] == ["httpd", "-f"]  # entrypoint kept
    assert container["Env"] == ["A=1", "B=2"] and container["Init"] is True
    assert container["Hosts"] == ["10.0.0.5 db.local"]
    volume, tmpfs = container["Mounts"]
    assert volume["Source"] == "blue_shop_default_data" and volume["Type"] == "volume"
    assert volume["VolumeOptions"]["Labels"]["syncd.volume"] == "data"
    assert tmpfs["Type"] == "tmpfs" and tmpfs["TmpfsOptions"]["SizeBytes"] == 1024
    assert [c["ConfigID"] for c in container["Configs"]] == ["cfg1"]
    (secret,) = container["Secrets"]
    assert secret["SecretID"] == "sec1" and secret["File"]["Mode"] == 0o400
    assert secret["File"]["Name"] == "/run/secrets/t"
    assert spec["TaskTemplate"]["Networks"] == [{"Target": "net1", "Aliases": ["web"]}]
    assert spec["EndpointSpec"] == {
        "Mode": "dnsrr",
        "Ports": [
            {"Protocol": "tcp", "TargetPort": 8080, "PublishedPort": 18080, "PublishMode": "host"}
        ],
    }  # 9000/tcp is project-internal: not published
    assert spec["UpdateConfig"]["FailureAction"] == "rollback"


def test_global_mode_is_its_own_value_in_the_normal_form() -> None:
    spec = _spec(SwarmDeploy(global_mode=True))
    assert spec["Mode"] == {"Global": {}}
    assert normalise(spec["Mode"]) == {"Global": True}
    assert normalise(spec) != normalise(_spec(SwarmDeploy(replicas=0)))


def _as_swarm_stores_it(spec: dict[str, Any]) -> dict[str, Any]:
    """What `docker service inspect` answers: zero values left out, Swarm's defaults added."""
    stored = copy.deepcopy(spec)
    stored["TaskTemplate"]["ContainerSpec"]["Isolation"] = "default"
    stored["TaskTemplate"]["Runtime"] = "container"
    del stored["UpdateConfig"]["Delay"]
    stored["TaskTemplate"]["Resources"] = {}
    return stored


def test_a_stored_spec_equals_the_sent_one_until_someone_changes_it() -> None:
    spec = _spec()
    stored = _as_swarm_stores_it(spec)
    assert normalise(stored) == normalise(spec) and not drifted(stored)
    by_hand = copy.deepcopy(stored)
    by_hand["TaskTemplate"]["ContainerSpec"]["Env"].append("BY_HAND=1")
    assert drifted(by_hand)
    scaled = copy.deepcopy(stored)
    scaled["Mode"]["Replicated"]["Replicas"] = 5
    assert drifted(scaled)
    assert not drifted({"Labels": {}})  # not syncd's: no digest to compare


def test_the_digest_ignores_its_own_label_and_key_order() -> None:
    spec = _spec()
    reordered = dict(reversed(list(spec.items())))
    assert digest(spec) == digest(reordered) == spec["Labels"][LABEL_DIGEST]


def test_deploy_fields_come_from_the_canonical_spec_with_syncds_rollback_default() -> None:
    plain = deploy_of({"image": "x", "replicas": 3, "updateOrder": "start-first"})
    assert plain.replicas == 3 and not plain.global_mode
    assert plain.update.order == "start-first" and plain.update.failure_action == "rollback"
    assert plain.rollback.failure_action == "pause" and plain.endpoint_mode == "vip"
    swarm = {
        "mode": "global",
        "placement": {"constraints": ["node.role==worker"], "preferences": ["node.labels.z"]},
        "updateConfig": {"failureAction": "continue", "delay": 2.0},
        "endpointMode": "dnsrr",
        "portModes": {"8080:80/tcp": "host"},
    }
    given = deploy_of({"image": "x", "ports": ["8080:80/tcp"], "swarm": swarm})
    assert given.global_mode and given.endpoint_mode == "dnsrr"
    assert given.update.failure_action == "continue" and given.update.delay == 2.0
    assert given.constraints == ("node.role==worker",) and given.spread == ("node.labels.z",)
    assert given.port_modes == {80: "host"}


def _settings(*argv: str, env: dict[str, str] | None = None) -> Settings:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return from_args(parser.parse_args(argv), env or {"XDG_STATE_HOME": "/tmp/x"})


def test_the_engine_address_comes_from_the_flag_then_syncd_docker_host_then_docker_host() -> None:
    env = {"XDG_STATE_HOME": "/tmp/x", "DOCKER_HOST": "unix:///a.sock"}
    assert _settings(env=env).docker_host == "unix:///a.sock"
    env["SYNCD_DOCKER_HOST"] = "unix:///b.sock"
    assert _settings(env=env).docker_host == "unix:///b.sock"
    flagged = _settings("--docker-host", "unix:///c.sock", "--engine", "swarm", env=env)
    assert flagged.docker_host == "unix:///c.sock" and flagged.engine is EngineKind.SWARM
    assert _settings().docker_host is None and _settings().deploy_timeout == 300
    assert _settings("--deploy-timeout", "5").deploy_timeout == 5
    with pytest.raises(SyncdError, match="deploy timeout"):
        _settings("--deploy-timeout", "0")


def test_connect_gives_the_swarm_engine_for_engine_swarm(tmp_path: Path) -> None:
    settings = Settings(tmp_path, engine=EngineKind.SWARM, docker_host="unix:///nowhere.sock")
    engine = connect(settings)
    try:
        assert type(engine).__name__ == "SwarmEngine"
    finally:
        engine.close()
