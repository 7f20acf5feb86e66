"""The process option group on the real engine (issue 13): a Compose stack with every process
key, planned and applied with `syncd apply`, then read back with `docker inspect`; and the
service's stop grace period used where syncd stops or replaces its container."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from syncd.cli.main import main
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.docker

# The process ignores SIGTERM and exits 7 on its stop signal (after the current `sleep 1`): a
# container killed before its grace period ends exits 137 instead.
COMPOSE = """\
name: proc
services:
  app:
    image: busybox:1.36
    command: ["sh", "-c", "trap 'exit 7' USR1; trap '' TERM; while true; do sleep 1; done"]
    user: "1000:1000"
    working_dir: /var/spool
    hostname: keys-runtime
    domainname: example.internal
    labels:
      com.example.team: platform
      com.example.empty: ""
    init: true
    tty: true
    stdin_open: true
    stop_signal: usr1
    stop_grace_period: GRACE
    extra_hosts:
      - "somehost:162.242.195.82"
      - "otherhost=50.31.209.229"
      - "gateway:host-gateway"
    dns: [9.9.9.9, 149.112.112.112]
    dns_search: example.internal
    dns_opt: [ndots:2, timeout:3]
    group_add: [nobody, 1001]
    platform: linux/amd64
    pull_policy: never
    mac_address: 02:42:ac:11:00:99
  plain:
    image: busybox:1.36
    command: sleep 3600
    labels: [com.example.list=yes]
    extra_hosts: {multi: [10.0.0.8, 10.0.0.9]}
    dns: 1.1.1.1
    stop_grace_period: 500ms
"""


def _args(deployment: Deployment, repo: GitRepo) -> list[str]:
    return [
        "--repo",
        str(repo.path),
        "--data-dir",
        str(deployment.settings.data_dir),
        "--instance",
        deployment.instance,
        "--stop-timeout",
        "0",  # the setting: a service without a grace period is killed at once
    ]


def _exit_codes(deployment: Deployment, container_id: str, since: int) -> list[str]:
    """The exit codes of `container_id`'s deaths since `since` (engine events; the engine keeps
    them after the container is removed)."""
    events = deployment.client.api.events(
        since=since,
        until=int(time.time()) + 1,
        filters={"container": container_id, "event": "die"},
        decode=True,
    )
    return [str(e["Actor"]["Attributes"].get("exitCode")) for e in events]


def _spec_of(plan: dict[str, Any], service: str) -> dict[str, Any]:
    text = json.dumps(plan)
    assert service in text
    for stack in plan["stacks"]:
        for change in stack["services"]:
            if change["service"].endswith(f"/{service}"):
                for op in change["patch"]:
                    if op["path"] == "":
                        return dict(op["value"])
                return {op["path"].lstrip("/"): op["value"] for op in change["patch"]}
    raise AssertionError(f"{service} not in the plan")


def _check_plan(planned: dict[str, Any]) -> None:
    """The plan's canonical spec of both services."""
    spec = _spec_of(planned, "app")
    assert spec["user"] == "1000:1000" and spec["workingDir"] == "/var/spool"
    assert (spec["stopSignal"], spec["stopGracePeriod"]) == ("SIGUSR1", 30)
    assert spec["extraHosts"][1] == "otherhost:50.31.209.229"
    assert spec["labels"] == {"com.example.empty": "", "com.example.team": "platform"}
    assert (spec["pullPolicy"], spec["platform"]) == ("never", "linux/amd64")
    plain = _spec_of(planned, "plain")
    assert (plain["stopGracePeriod"], plain["dns"]) == (1, ["1.1.1.1"])
    assert plain["extraHosts"] == ["multi:10.0.0.8", "multi:10.0.0.9"]


def _check_inspect(deployment: Deployment) -> None:
    """What Docker runs: `docker inspect` and the files Docker writes into the container."""
    app = deployment.client.api.inspect_container(deployment.container("app").id)
    config, host = app["Config"], app["HostConfig"]
    assert (config["User"], config["WorkingDir"]) == ("1000:1000", "/var/spool")
    assert (config["Hostname"], config["Domainname"]) == ("keys-runtime", "example.internal")
    assert config["Labels"]["com.example.team"] == "platform"
    assert config["Labels"]["com.example.empty"] == ""
    assert config["Labels"]["syncd.instance"] == deployment.instance
    assert (host["Init"], config["Tty"], config["OpenStdin"]) == (True, True, True)
    assert (config["StopSignal"], config["StopTimeout"]) == ("SIGUSR1", 30)
    assert config["MacAddress"] == "02:42:ac:11:00:99"
    assert host["ExtraHosts"] == [
        "somehost:162.242.195.82",
        "otherhost:50.31.209.229",
        "gateway:host-gateway",
    ]
    assert host["Dns"] == ["9.9.9.9", "149.112.112.112"]
    assert (host["DnsSearch"], host["DnsOptions"]) == (
        ["example.internal"],
        ["ndots:2", "timeout:3"],
    )
    assert host["GroupAdd"] == ["nobody", "1001"]
    code, groups = deployment.exec("app", "id", "-G")
    assert code == 0 and "1001" in groups.split() and "65534" in groups.split()
    code, hosts = deployment.exec("app", "cat", "/etc/hosts")
    assert "162.242.195.82\tsomehost" in hosts
    code, resolv = deployment.exec("app", "cat", "/etc/resolv.conf")
    assert "ndots:2" in resolv and "example.internal" in resolv

    other = deployment.client.api.inspect_container(deployment.container("plain").id)
    assert other["Config"]["Labels"]["com.example.list"] == "yes"
    assert other["HostConfig"]["ExtraHosts"] == ["multi:10.0.0.8", "multi:10.0.0.9"]
    assert other["Config"]["StopTimeout"] == 1  # 500ms rounds up
    assert other["HostConfig"].get("Init") in (None, False) and not other["Config"]["Tty"]


def test_every_process_key_reaches_docker_and_the_grace_period_is_used(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = GitRepo(deployment.repo)
    repo.write("proc/compose.yaml", COMPOSE.replace("GRACE", "30s"))
    first = repo.commit("one")
    args = _args(deployment, repo)

    assert main(["plan", *args, "--format", "json"]) == 2
    _check_plan(json.loads(capsys.readouterr().out))

    assert main(["apply", *args, "--rev", first]) == 0, capsys.readouterr()
    capsys.readouterr()
    _check_inspect(deployment)

    # the operator's stop uses the service's grace period (30s), not --stop-timeout 0
    assert main(["service", "stop", "proc/app", *args[2:]]) == 0
    stopped = deployment.client.api.inspect_container(deployment.container("app").id)
    assert stopped["State"]["ExitCode"] == 7  # its own signal handler ran: not killed
    assert main(["service", "start", "proc/app", *args[2:]]) == 0

    # a replace stops the old container with its grace period too
    old = deployment.container("app").id
    repo.write("proc/compose.yaml", COMPOSE.replace("GRACE", "31s"))
    second = repo.commit("two")
    since = int(time.time()) - 1
    assert main(["apply", *args, "--rev", second]) == 0
    out = capsys.readouterr().out
    assert "proc/default/app" in out
    new = deployment.container("app").id
    assert new != old
    assert deployment.client.api.inspect_container(new)["Config"]["StopTimeout"] == 31
    codes = _exit_codes(deployment, old, since)  # (may include the operator's stop above)
    assert codes and set(codes) == {"7"}  # stopped with its 30s, not killed at once
