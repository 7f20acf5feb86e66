"""`syncd plan` for an instance that has nothing on this host warns and names the instances that
have (issue 18): a mistyped `--instance` would otherwise plan to create everything again."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine_support import Deployment

pytestmark = pytest.mark.docker

STACK = """\
kind: Stack
project: known
services:
  app:
    image: busybox:1.36
    command: [sh, -c, "trap 'exit 0' TERM; sleep 3600 & wait"]
"""


def _plan(
    deployment: Deployment, data_dir: Path, instance: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}
    command = [sys.executable, "-m", "syncd", "plan", "--repo", str(deployment.repo),
               "--data-dir", str(data_dir), "--instance", instance]  # fmt: skip
    return subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_planning_for_an_instance_never_applied_here_names_the_instances_that_were(
    tmp_path: Path, deployment: Deployment
) -> None:
    deployment.write("s.yaml", STACK)
    assert deployment.sync().ok  # the deployment's instance now has a container here
    stranger = "never-" + secrets.token_hex(4)
    done = _plan(deployment, tmp_path / "other", stranger)
    assert done.returncode == 2, done.stderr  # changes: everything would be created
    [warning] = [line for line in done.stderr.splitlines() if "never been applied" in line]
    assert warning.startswith(f"warning: instance '{stranger}' has never been applied on this host")
    listed = warning.split("the instances here are: ", 1)[1]
    assert deployment.instance in listed and stranger not in listed

    known = _plan(deployment, deployment.settings.data_dir, deployment.instance)
    assert known.returncode == 0, known.stderr  # nothing to change, and no warning
    assert "never been applied" not in known.stderr
