"""The policy and the profiles on the real engine, through `syncd apply`: only the active
profiles' services get containers, a revision asking for what the policy refuses applies
nothing, and the apply-time bind check lets syncd's own project-files binds through."""

from __future__ import annotations

import pytest

from syncd.cli.main import main
from syncd.errors import ExitCode
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.docker

COMPOSE = """\
services:
  web:
    image: busybox:1.36
    command: sleep 3600
    volumes: ["./data:/data"]
  debug:
    image: busybox:1.36
    command: sleep 3600
    profiles: [debug]
"""
NATIVE = """\
kind: Stack
project: files
services:
  app:
    image: busybox:1.36
    command: [sleep, "3600"]
    volumes: ["/uploads:/uploads"]
"""


def test_profiles_policy_and_binds_on_the_real_engine(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = GitRepo(deployment.repo)
    repo.write("tools/compose.yaml", COMPOSE.replace('    volumes: ["./data:/data"]\n', ""))
    repo.write("files.yaml", NATIVE)
    repo.commit("two stacks")
    data = str(deployment.settings.data_dir)
    args = ["--repo", str(repo.path), "--data-dir", data, "--instance", deployment.instance]
    policy = deployment.settings.data_dir.parent / "policy.yaml"
    policy.write_text("default: {}\n")  # the operator's own file: allows nothing

    assert main(["apply", *args, "--policy", str(policy)]) == ExitCode.OK, capsys.readouterr()
    assert sorted(c.labels["syncd.service"] for c in deployment.containers()) == ["app", "web"]
    mounts = deployment.container("app").attrs["Mounts"]
    assert [m["Source"] for m in mounts] == [
        str((deployment.settings.data_dir / "projects/files/files/uploads").resolve())
    ]
    assert main(["apply", *args, "--policy", str(policy), "--profile", "debug"]) == ExitCode.OK
    services = sorted(c.labels["syncd.service"] for c in deployment.containers())
    assert services == ["app", "debug", "web"]

    repo.write("tools/compose.yaml", COMPOSE.replace("    profiles: [debug]\n", "    ipc: host\n"))
    repo.commit("the debug service asks for the host's IPC namespace")
    capsys.readouterr()
    assert main(["apply", *args, "--policy", str(policy)]) == ExitCode.ERROR
    err = capsys.readouterr().err
    assert "tools/compose.yaml:9:10: /services/debug/ipc" in err, err
    assert "is not allowed by the operator's policy" in err
    assert main(["apply", *args, "--policy", str(repo.path / "files.yaml")]) == ExitCode.CONFIG
    assert "inside the manifest repository" in capsys.readouterr().err
