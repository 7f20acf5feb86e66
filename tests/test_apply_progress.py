"""`syncd apply` shows its progress (issue 18): on a pseudo-terminal one live line rewritten with
`\\r` (a pull's bytes growing, a health wait), off a terminal plain lines. Real Docker, an image
of the test's own pulled from the local registry (its layer is nowhere else: real bytes), a
service with a healthcheck and one that waits for it to be healthy."""

from __future__ import annotations

import contextlib
import io
import os
import pty
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest

from tests.conftest import TestRegistry
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.docker

IDLE = "trap 'exit 0' TERM; sleep 3600 & wait"
STACK = f"""\
kind: Stack
project: prog
services:
  app:
    image: {{image}}
    command: [sh, -c, "{IDLE}"]
    healthcheck: {{{{test: [CMD, "true"], interval: 1s}}}}
  web:
    image: busybox:1.36
    command: [sh, -c, "{IDLE}"]
    dependsOn: {{{{app: service_healthy}}}}
---
kind: Registry
project: prog
name: test
uri: {{host}}
credentials:
  username: {{user}}
  password: {{{{env: REGISTRY_PASSWORD}}}}
"""


@pytest.fixture
def pulled_image(
    deployment: Deployment, docker_client: docker.DockerClient, test_registry: TestRegistry
) -> Iterator[str]:
    """An image of this test's own (busybox + 3 MB of random bytes) in the registry only."""
    repository = f"{test_registry.host}/progress-{secrets.token_hex(4)}/blob"
    dockerfile = b"FROM busybox:1.36\nRUN head -c 3000000 /dev/urandom > /blob\n"
    image, _ = docker_client.images.build(fileobj=io.BytesIO(dockerfile), rm=True)
    image.tag(repository, "1")
    try:
        for line in docker_client.api.push(
            repository, "1", stream=True, decode=True, auth_config=test_registry.auth_config
        ):
            assert "error" not in line, line
        docker_client.images.remove(image.id, force=True)  # pulled back by the apply
        yield f"{repository}:1"
    finally:
        for container in deployment.containers():  # ours, using the image
            container.remove(force=True)
        for found in docker_client.images.list(name=repository):
            with contextlib.suppress(docker.errors.ImageNotFound, docker.errors.APIError):
                docker_client.images.remove(found.id, force=True)


def _command(
    deployment: Deployment, tmp_path: Path, registry: TestRegistry, image: str
) -> list[str]:
    env_file = tmp_path / "operator.env"
    env_file.write_text(f"REGISTRY_PASSWORD={registry.password}\n")
    repo = GitRepo(deployment.repo)
    repo.write("prog.yaml", STACK.format(image=image, host=registry.host, user=registry.username))
    repo.commit("prog")
    args = deployment.cli_args(repo.path, "--env-file", str(env_file), "--rev", "HEAD", "--yes")
    return [sys.executable, "-m", "syncd", "apply", *args]


def _on_a_terminal(command: list[str]) -> tuple[int, str]:
    """`command` with stdin, stdout and stderr on a pseudo-terminal; its exit code, output."""
    parent, child = pty.openpty()
    process = subprocess.Popen(command, stdin=child, stdout=child, stderr=child)
    os.close(child)
    chunks = []
    try:
        while True:
            try:
                chunk = os.read(parent, 65536)
            except OSError:  # EIO: the child's side closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        code = process.wait(120)
    finally:
        os.close(parent)
        if process.poll() is None:
            process.kill()
            process.wait(10)
    return code, b"".join(chunks).decode(errors="replace")


def test_apply_on_a_terminal_rewrites_one_progress_line_with_the_bytes_pulled(
    deployment: Deployment, pulled_image: str, test_registry: TestRegistry, tmp_path: Path
) -> None:
    code, out = _on_a_terminal(_command(deployment, tmp_path, test_registry, pulled_image))
    assert code == 0, out
    assert f"\r\x1b[Kpulling {pulled_image}: " in out  # rewritten in place, with bytes
    rewritten = [p for p in out.split("\r\x1b[K") if p.startswith(f"pulling {pulled_image}: ")]
    assert any(" MB / " in p or " kB / " in p for p in rewritten), rewritten
    assert f"\r\x1b[Kpulled {pulled_image} (" in out
    assert "\r\x1b[Kwaiting for prog/default/app to be healthy (starting)" in out
    assert "\r\x1b[Kprog/default/app is healthy" in out
    assert "\r\x1b[Kcreated prog/default/web" in out


def test_apply_off_a_terminal_prints_plain_lines(
    deployment: Deployment, pulled_image: str, test_registry: TestRegistry, tmp_path: Path
) -> None:
    command = _command(deployment, tmp_path, test_registry, pulled_image)
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert "\r" not in done.stderr and "\x1b" not in done.stderr
    assert f"pulling {pulled_image}" in lines
    assert any(line.startswith(f"pulled {pulled_image} (") for line in lines), lines
    assert not any(" / " in line for line in lines)  # no byte ticks off a terminal
    assert "prog/default/app is healthy" in lines and "created prog/default/web" in lines


def test_a_saved_plan_applies_with_the_same_progress(
    deployment: Deployment, pulled_image: str, test_registry: TestRegistry, tmp_path: Path
) -> None:
    """`syncd plan --out` then `syncd apply --plan`: the same lines as a plain apply."""
    command = _command(deployment, tmp_path, test_registry, pulled_image)
    at = command.index("apply")
    options = [a for a in command[at + 1 :] if a not in ("--rev", "HEAD", "--yes")]
    saved = tmp_path / "plan.json"
    plan = [*command[:at], "plan", *options, "--head", "HEAD", "--out", str(saved)]
    planned = subprocess.run(plan, capture_output=True, text=True, timeout=120, check=False)
    assert planned.returncode == 2, planned.stdout + planned.stderr  # changes to make
    apply = [*command[:at], "apply", *options, "--plan", str(saved), "--yes"]
    done = subprocess.run(apply, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stderr.splitlines()
    assert f"pulling {pulled_image}" in lines
    assert "prog/default/app is healthy" in lines and "created prog/default/web" in lines
