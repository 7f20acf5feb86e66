"""`syncd plan --check-images` of a revision nobody reviewed yet (a pull request) sends no
registry credentials to a host that revision chose.

A `Registry` document may read the operator's password (`{env: NAME}`) and name any `uri`. At
apply time that is the pusher's right (the README's trust model); at plan time the revision is
only proposed, so its author could otherwise collect the password at a host of their own by
asking for a plan. A plan sends a registry's credentials only when the revision it starts from
(the base, or what runs) declares that registry alike; an unchanged registry keeps working."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from syncd.cli.main import main
from tests.conftest import TestRegistry
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo
from tests.registry_support import recording_registry

pytestmark = pytest.mark.docker

BASE = """\
kind: Stack
project: trust
services:
  app:
    image: busybox:1.36
    command: [sleep, "3600"]
---
kind: Registry
project: trust
name: team
uri: {host}
credentials:
  username: {user}
  password: {{env: REGISTRY_PASSWORD}}
"""

ADDED = """\
---
kind: Stack
project: trust
name: extra
services:
  collect:
    image: {attacker}/team/app:1
    command: [sleep, "3600"]
  private:
    image: {host}/absent-{tag}/app:1
    command: [sleep, "3600"]
---
kind: Registry
project: trust
name: mirror
uri: {attacker}
credentials:
  username: {user}
  password: {{env: REGISTRY_PASSWORD}}
"""


def test_a_plan_sends_no_credentials_to_a_registry_the_proposed_revision_adds(
    deployment: Deployment,
    tmp_path: Path,
    test_registry: TestRegistry,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env_file = tmp_path / "operator.env"
    env_file.write_text(f"REGISTRY_PASSWORD={test_registry.password}\n")
    args = [
        "--repo", str(deployment.repo), "--data-dir", str(deployment.settings.data_dir),
        "--instance", deployment.instance, "--env-file", str(env_file),
    ]  # fmt: skip
    repo = GitRepo(deployment.repo)
    base_text = BASE.format(host=test_registry.host, user=test_registry.username)
    repo.write("trust.yaml", base_text)
    base = repo.commit("base: the team registry")
    assert main(["apply", *args, "--rev", base]) == 0  # what runs: the reviewed revision
    capsys.readouterr()

    with recording_registry() as (attacker, seen):
        added = ADDED.format(
            attacker=attacker,
            host=test_registry.host,
            user=test_registry.username,
            tag=secrets.token_hex(4),
        )
        repo.write("trust.yaml", base_text + added)
        head = repo.commit("proposed: a registry of the author's own")
        for command in (
            ["plan", *args, "--head", head, "--check-images"],  # against what runs
            ["plan", *args, "--base", base, "--head", head, "--check-images"],
        ):
            assert main(command) == 1, command
            assert seen.requests  # the engine did ask the author's host
            assert seen.authorizations == []  # and sent it no credentials
            err = capsys.readouterr().err
            assert test_registry.password not in err
            collect = next(line for line in err.splitlines() if f"{attacker}/team/app:1" in line)
            assert "asked without the credentials of registry trust/mirror" in collect
            # the registry the base declares alike still gets its credentials: the private
            # registry answers "no such image", not "unauthorized"
            private = next(line for line in err.splitlines() if "/absent-" in line)
            assert "no such image or tag" in private and "without the credentials" not in private
