"""Files from git, data folders, tmpfs, configs and secrets: a Compose stack applied with
`syncd apply` on the real engine, checked in the plan and with `docker inspect` / `stat` inside
the containers, over three revisions (edit a file, change nothing it uses, remove the stack)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from syncd.apply.materialise import root
from syncd.cli.main import main
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.docker

SECRET = "s3cr3t-db-pass"
TOKEN = "tok-from-the-operator"
COMPOSE = """\
name: filesapp
services:
  web:
    image: busybox:1.36
    command: sleep 3600
    volumes:
      - ./conf/app.conf:/etc/app.conf
      - ./conf/dir:/etc/dir:ro
      - ./data:/data
      - my_vol.v2:/vol
      - type: tmpfs
        target: /scratch
        tmpfs: {size: 1m, mode: 0o1777}
    configs:
      - app_ini
      - source: settings
        target: /etc/settings.json
        mode: 0o440
    secrets:
      - db_password
      - source: token
        target: tok
        uid: "1000"
        gid: "1001"
  other:
    image: busybox:1.36
    command: sleep 3600
    configs: [app_ini]
volumes:
  my_vol.v2: {}
configs:
  app_ini: {file: ./conf/app.ini}
  settings: {content: '{"a": 1}'}
secrets:
  db_password: {file: ./secrets/db.txt}
  token: {environment: TOKEN}
"""


def _args(deployment: Deployment, env_file: Path) -> list[str]:
    return [
        "--repo",
        str(deployment.repo),
        "--data-dir",
        str(deployment.settings.data_dir),
        "--instance",
        deployment.instance,
        "--env-file",
        str(env_file),
    ]


def _sh(deployment: Deployment, service: str, script: str) -> str:
    code, out = deployment.exec(service, "sh", "-c", script)
    assert code == 0, out
    return out.strip()


def _check_first_revision(deployment: Deployment) -> None:
    """The container sees the files, read-only, with the modes `stat` shows; the data folder
    is writable; `docker inspect` agrees."""
    assert _sh(deployment, "web", "cat /etc/app.conf") == "version one"
    assert _sh(deployment, "web", "cat /etc/dir/a.txt") == "folder file"
    assert _sh(deployment, "web", "touch /etc/app.conf 2>&1 || echo refused").endswith("refused")
    stat = _sh(
        deployment,
        "web",
        "stat -c %a /app_ini /etc/settings.json /run/secrets/db_password /run/secrets/tok",
    )
    assert stat.split() == ["444", "440", "400", "400"]
    assert _sh(deployment, "web", "cat /run/secrets/tok") == TOKEN
    assert _sh(deployment, "web", "stat -c %u:%g /run/secrets/tok /app_ini").split() == [
        "1000:1001",
        "0:0",
    ]
    assert _sh(deployment, "web", "cat /etc/settings.json") == '{"a": 1}'
    assert "tmpfs" in _sh(deployment, "web", "grep ' /scratch ' /proc/mounts")
    _sh(deployment, "web", "echo kept > /data/keep")
    mounts = {m["Destination"]: m for m in deployment.container("web").attrs["Mounts"]}
    assert mounts["/etc/app.conf"]["Type"] == "bind" and not mounts["/etc/app.conf"]["RW"]
    assert mounts["/data"]["RW"] and mounts["/data"]["Source"].endswith("/files/data")
    assert mounts["/scratch"]["Type"] == "tmpfs"
    assert mounts["/vol"]["Type"] == "volume" and mounts["/vol"]["Name"].startswith(
        f"{deployment.instance}_filesapp_default_my-vol-v2-"
    )
    secret_source = mounts["/run/secrets/db_password"]["Source"]
    assert hashlib.sha256(SECRET.encode()).hexdigest() not in secret_source


def test_files_from_git_configs_and_secrets_on_the_engine(
    deployment: Deployment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env_file = tmp_path / "operator.env"
    env_file.write_text(f"TOKEN={TOKEN}\n")
    args = _args(deployment, env_file)
    repo = GitRepo(deployment.repo)
    repo.write("app/compose.yaml", COMPOSE)
    repo.write("app/conf/app.conf", "version one\n")
    repo.write("app/conf/dir/a.txt", "folder file\n")
    repo.write("app/conf/app.ini", "[app]\n")
    repo.write("app/secrets/db.txt", SECRET)
    first = repo.commit("one")

    assert main(["plan", *args, "--head", first, "--format", "json"]) == 2
    planned = capsys.readouterr().out
    assert '"type": "git"' in planned and "app/conf/app.conf" in planned
    assert SECRET not in planned and TOKEN not in planned
    assert hashlib.sha256(SECRET.encode()).hexdigest() not in planned

    assert main(["apply", *args, "--rev", first]) == 0
    applied = capsys.readouterr()
    assert SECRET not in applied.out + applied.err

    _check_first_revision(deployment)
    other_id = deployment.container("other").id
    stored = sorted(p.name for p in root(deployment.settings).iterdir())

    # editing a file from git: the plan names it, the container sees the new content
    repo.write("app/conf/app.conf", "version two\n")
    second = repo.commit("two")
    assert main(["plan", *args, "--head", second]) == 2
    text = capsys.readouterr().out
    assert "recreate" in text and "app/conf/app.conf changed" in text
    assert main(["apply", *args, "--rev", second]) == 0
    capsys.readouterr()
    assert _sh(deployment, "web", "cat /etc/app.conf") == "version two"
    assert _sh(deployment, "web", "cat /data/keep") == "kept"  # the data folder survived
    assert deployment.container("other").id == other_id  # unchanged: not recreated
    now = sorted(p.name for p in root(deployment.settings).iterdir())
    assert len(now) == len(stored) and now != stored  # the old content was swept

    # a change the services do not use: no recreate
    repo.write("app/README.md", "notes\n")
    third = repo.commit("three")
    assert main(["plan", *args, "--head", third, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"]["recreate"] == 0

    # the stack removed: the data folder stays
    repo.git("rm", "-q", "app/compose.yaml")
    fourth = repo.commit("four")
    assert main(["apply", *args, "--rev", fourth, "--allow-empty"]) == 0
    capsys.readouterr()
    assert deployment.containers() == []
    kept = deployment.settings.project_files("filesapp") / "data" / "keep"
    assert kept.read_text() == "kept\n"
