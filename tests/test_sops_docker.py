"""SOPS-encrypted files reach real containers (issue 17): an encrypted `env_file`, a secret file
and a Registry password `{sops: path#key}` decrypt with `--age-key-file` through `syncd apply`
on the real engine and the real auth-protected test registry; no value shows in the plan, the
logs, or an error. Files are read back from the container with `docker cp` (get_archive): exec
output is lost under load (see tests/killpoints.py)."""

from __future__ import annotations

import contextlib
import io
import json
import tarfile
import time
from pathlib import Path

import docker
import docker.errors
import pyrage
import pytest
from structlog.testing import capture_logs

from syncd.cli.main import main
from syncd.ids import project_id
from syncd.sops import SopsFormat, encrypt
from tests.conftest import TestRegistry
from tests.daemon_support import RunningDaemon, wait_for
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.docker

KEY = pyrage.x25519.Identity.generate()
TOKEN = "sops-token-8d1c77"
DB = "sops-db-password-4e2a"

COMPOSE = """services:
  app:
    image: {image}
    command: [sh, -c, "env > /tmp/env; sleep 3600"]
    env_file: secrets.env
    secrets: [db]
secrets:
  db: {{file: db.txt}}
"""
REGISTRY = """kind: Registry
project: shop
name: team
uri: {host}
credentials:
  username: {user}
  password: {{sops: creds.yaml#registry.password}}
"""


def _enc(plain: str, name: str, fmt: SopsFormat) -> str:
    return encrypt(plain, fmt, [str(KEY.to_public())], name)


def _file(container: object, path: str) -> tuple[str, int]:
    """The file at `path` in the container and its mode, waiting (10 s at most) for the
    command to write it."""
    for _ in range(100):
        try:
            stream, _ = container.get_archive(path)  # type: ignore[attr-defined]
            break
        except docker.errors.NotFound:
            time.sleep(0.1)
    else:
        raise AssertionError(f"{path} never appeared in the container")
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        [info] = tar.getmembers()
        member = tar.extractfile(info)
        assert member is not None
        return member.read().decode(), info.mode & 0o7777


def test_encrypted_env_file_secret_and_registry_password_reach_the_container(
    deployment: Deployment,
    tmp_path: Path,
    own_registry: TestRegistry,
    docker_client: docker.DockerClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with contextlib.suppress(docker.errors.ImageNotFound):
        docker_client.images.remove(own_registry.image)  # so that it must be pulled, logged in
    secrets = (TOKEN, DB, own_registry.password)
    key_file = tmp_path / "age.key"
    key_file.write_text(f"# created for the test\n{KEY}\n")
    key_file.chmod(0o600)
    repo = GitRepo(deployment.repo)
    repo.write("shop/compose.yaml", COMPOSE.format(image=own_registry.image))
    repo.write("shop/secrets.env", _enc(f"TOKEN={TOKEN}\n", "secrets.env", SopsFormat.DOTENV))
    repo.write("shop/db.txt", _enc(DB, "db.txt", SopsFormat.BINARY))
    host, user = own_registry.host, own_registry.username
    repo.write("registry.yaml", REGISTRY.format(host=host, user=user))
    password = f"registry:\n  password: {own_registry.password}\n"
    repo.write("creds.yaml", _enc(password, "creds.yaml", SopsFormat.YAML))
    head = repo.commit("encrypted")
    args = deployment.cli_args(repo.path, "--age-key-file", str(key_file))

    with capture_logs() as logs:
        assert main(["plan", *args, "--head", head, "--format", "json"]) == 2
        assert main(["apply", *args, "--rev", head]) == 0
    out = capsys.readouterr()
    shown = out.out + out.err + json.dumps(logs, default=str)
    for secret in secrets:
        assert secret not in shown

    app = deployment.container("app")
    assert f"TOKEN={TOKEN}" in _file(app, "/tmp/env")[0]
    assert _file(app, "/run/secrets/db") == (DB, 0o400)
    assert app.attrs["Config"]["Image"] == own_registry.image

    # without the key, the same revision is refused for that stack, naming the file only
    assert main(["apply", *deployment.cli_args(repo.path), "--rev", head]) == 1
    out = capsys.readouterr()
    assert "secrets.env" in out.err + out.out and "--age-key-file" in out.err + out.out
    assert "ENC[" not in out.err + out.out
    for secret in secrets:
        assert secret not in out.err + out.out


IDLE = "trap 'exit 0' TERM; env > /tmp/env; sleep 3600 & wait"
SHOP = f"""services:
  app:
    image: busybox:1.36
    command: [sh, -c, "{IDLE}"]
    env_file: secrets.env
    secrets: [db]
secrets:
  db: {{file: db.txt}}
"""
OTHER = """services:
  app:
    image: busybox:1.36
    command: [sh, -c, "{idle}"]
    environment: {{N: "{n}"}}
"""


def _running(deployment: Deployment, project: str) -> object | None:
    found = deployment.containers(project=project, service="app")
    return found[0] if len(found) == 1 and found[0].status == "running" else None


def _answers(daemon: RunningDaemon) -> str:
    """Everything the API tells a reader: status, syncs, each project's services, metrics."""
    texts = [json.dumps(daemon.status()), json.dumps(daemon.syncs())]
    for project in ("shop", "other"):
        texts.append(daemon.http.get(f"/v2/projects/{project_id(project)}/services").text)
    texts.append(daemon.http.get("/metrics").text)
    return "\n".join(texts)


def test_the_daemon_decrypts_with_its_key_and_a_wrong_key_fails_only_that_stack(
    deployment: Deployment, daemons: list[RunningDaemon], tmp_path: Path
) -> None:
    key_file = tmp_path / "age.key"
    key_file.write_text(f"{KEY}\n")
    repo = GitRepo(deployment.repo)
    repo.write("shop/compose.yaml", SHOP)
    repo.write("shop/secrets.env", _enc(f"TOKEN={TOKEN}\n", "secrets.env", SopsFormat.DOTENV))
    repo.write("shop/db.txt", _enc(DB, "db.txt", SopsFormat.BINARY))
    repo.write("other/compose.yaml", OTHER.format(idle=IDLE, n=1))
    repo.commit("encrypted")
    daemon = RunningDaemon(
        str(repo.path), deployment.settings.data_dir, deployment.instance,
        "--age-key-file", str(key_file), "--drift-interval", "3600",
    )  # fmt: skip
    daemons.append(daemon)
    daemon.started()
    shop = wait_for(lambda: _running(deployment, "shop"), 60, "the shop stack")
    wait_for(lambda: _running(deployment, "other"), 60, "the other stack")
    assert f"TOKEN={TOKEN}" in _file(shop, "/tmp/env")[0]
    assert _file(shop, "/run/secrets/db") == (DB, 0o400)

    # the shop's file re-encrypted for another key only: shop keeps running, other applies
    stranger = pyrage.x25519.Identity.generate()
    recipients = [str(stranger.to_public())]
    rotated = encrypt("TOKEN=rotated-token-31\n", SopsFormat.DOTENV, recipients, "secrets.env")
    repo.write("shop/secrets.env", rotated)
    repo.write("other/compose.yaml", OTHER.format(idle=IDLE, n=2))
    repo.commit("wrong key for shop")

    def other_is_2() -> bool:
        found = _running(deployment, "other")
        return found is not None and "N=2" in found.attrs["Config"]["Env"]  # type: ignore[attr-defined]

    wait_for(other_is_2, 60, "the other stack at its new revision")
    status = wait_for(lambda: daemon.status()["brokenStacks"] and daemon.status(), 30, "broken")
    [broken] = status["brokenStacks"]
    assert broken["stack"].startswith("shop")
    assert any("shop/secrets.env: no age key" in p for p in broken["problems"])
    assert _running(deployment, "shop").id == shop.id  # type: ignore[attr-defined]
    shown = _answers(daemon) + daemon.log()
    for secret in (TOKEN, DB, "rotated-token-31"):
        assert secret not in shown
    assert "ENC[" not in shown
