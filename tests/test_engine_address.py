"""An engine that cannot be reached is named in the error: the socket or `DOCKER_HOST` tried
(issue 18), never with the password of a `user:password@` in it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from syncd.engine.client import DEFAULT_ADDRESS, engine_address
from syncd.errors import ExitCode
from tests.daemon_support import free_port
from tests.gitrepo import GitRepo

STACK = "kind: Stack\nproject: addr\nservices: {app: {image: busybox:1.36}}\n"
PASSWORD = "s3cret-engine-pw"


def _syncd(tmp_path: Path, docker_host: str, *args: str) -> subprocess.CompletedProcess[str]:
    repo = GitRepo(tmp_path / "repo")
    repo.write("s.yaml", STACK)
    repo.commit("one")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SYNCD_", "DOCKER_"))}
    env["DOCKER_HOST"] = docker_host
    command = [
        sys.executable, "-m", "syncd", *args, "--repo", str(repo.path),
        "--data-dir", str(tmp_path / "data"), "--instance", "addr",
    ]  # fmt: skip
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_plan_names_the_socket_it_could_not_reach(tmp_path: Path) -> None:
    socket = tmp_path / "nonexistent.sock"
    done = _syncd(tmp_path, f"unix://{socket}", "plan")
    assert done.returncode == ExitCode.ERROR
    assert f"cannot reach the Docker engine at unix://{socket}:" in done.stderr


def test_run_names_the_socket_and_exits_unavailable(tmp_path: Path) -> None:
    socket = tmp_path / "nonexistent.sock"
    done = _syncd(tmp_path, f"unix://{socket}", "run", "--listen", f"127.0.0.1:{free_port()}")
    assert done.returncode == ExitCode.UNAVAILABLE, done.stderr
    assert f"cannot reach the Docker engine at unix://{socket}:" in done.stderr


def test_a_password_in_docker_host_is_never_shown(tmp_path: Path) -> None:
    done = _syncd(tmp_path, f"tcp://deploy:{PASSWORD}@127.0.0.1:1", "plan")
    assert done.returncode == ExitCode.ERROR
    assert "cannot reach the Docker engine at tcp://<redacted>@127.0.0.1:1" in done.stderr
    assert PASSWORD not in done.stderr + done.stdout
    shown = _syncd(tmp_path / "b", f"tcp://deploy:{PASSWORD}@127.0.0.1:1", "run", "--print-config")
    assert PASSWORD not in shown.stdout + shown.stderr


def test_the_address_tried_follows_the_settings() -> None:
    assert engine_address(None, {}) == DEFAULT_ADDRESS == "unix:///var/run/docker.sock"
    assert engine_address(None, {"DOCKER_HOST": "unix:///run/x.sock"}) == "unix:///run/x.sock"
    flag = engine_address("tcp://10.0.0.1:2375", {"DOCKER_HOST": "unix:///run/x.sock"})
    assert flag == "tcp://10.0.0.1:2375"
    assert engine_address("ssh://me:pw@host", {}) == "ssh://<redacted>@host"


def test_an_unreachable_swarm_manager_is_named_by_its_address(tmp_path: Path) -> None:
    """The Swarm engine's task reads (status, page, logs) name the manager they could not reach;
    a password in its address is redacted there too."""
    import docker

    from syncd.engine.swarm import SwarmEngine
    from syncd.errors import EngineUnavailable

    address = f"tcp://deploy:{PASSWORD}@127.0.0.1:{free_port()}"
    client = docker.APIClient(
        base_url=address.replace(f"deploy:{PASSWORD}@", ""), version="1.41", timeout=2
    )
    engine = SwarmEngine("addr", client, address=engine_address(address, {}))
    for read in (lambda: engine.swarm_state(["x"]), lambda: engine.logs("x", 5)):
        try:
            read()
        except EngineUnavailable as err:
            assert "cannot reach the Swarm manager at tcp://<redacted>@127.0.0.1:" in str(err)
            assert PASSWORD not in str(err)
        else:
            raise AssertionError("an unreachable manager was read")
