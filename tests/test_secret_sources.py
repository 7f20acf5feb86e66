"""A push cannot make syncd read what the operator did not allow: `${VAR}` and `{env: NAME}` see
only the operator's variables (env files, names allowed by --allow-env, never SYNCD_*), and
`{file: …}` reads only regular files inside the secrets directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from syncd.apply.registries import read_password
from syncd.cli.main import main
from syncd.core.desired import DesiredRegistry
from syncd.errors import CredentialsError, SyncdError
from syncd.ids import RegistryKey
from syncd.manifests import ManifestFile, read_manifests
from syncd.operatorenv import MAX_SECRET_BYTES, allow_patterns, variables
from tests.daemon_support import RunningDaemon, wait_for
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo

TOKEN = "admin-token-that-must-stay-home"
LEAK = """\
kind: Stack
project: leak
services:
  app:
    image: busybox:1.36
    command: [sh, -c, "trap 'exit 0' TERM; sleep 3600 & wait"]
    environment: {T: "${SYNCD_ADMIN_TOKEN}"}
"""
REGISTRY = """\
kind: Registry
project: shop
name: team
uri: evil.example.com
credentials:
  username: u
  password: %s
"""


def _registry(ref: str) -> DesiredRegistry:
    return DesiredRegistry(RegistryKey("shop", "team"), "evil.example.com", "", "u", ref)


def _problems(text: str, env: dict[str, str], secrets_dir: Path | None = None) -> list[str]:
    result = read_manifests([ManifestFile("r.yaml", text.encode())], env, secrets_dir=secrets_dir)
    return [str(p) for p in result.errors]


def test_a_registry_password_file_outside_the_secrets_dir_is_an_error_at_its_line(
    tmp_path: Path,
) -> None:
    secrets = tmp_path / "secrets"
    [problem] = _problems(REGISTRY % "{file: /etc/passwd}", {}, secrets)
    assert problem.startswith("r.yaml:7:20: /credentials/password/file: /etc/passwd is outside")
    assert "--secrets-dir / SYNCD_SECRETS_DIR" in problem
    [problem] = _problems(REGISTRY % "{file: a/../../x}", {}, secrets)
    assert "'..' is refused" in problem
    assert _problems(REGISTRY % f"{{file: {secrets}/team/pw}}", {}, secrets) == []
    assert _problems(REGISTRY % "{file: team/pw}", {}, secrets) == []


def test_a_registry_password_variable_must_be_an_operators_variable() -> None:
    [problem] = _problems(REGISTRY % "{env: HOME}", {"OTHER": "x"})
    assert problem.startswith("r.yaml:7:19: /credentials/password/env: HOME is not set")
    assert "--allow-env / SYNCD_ALLOW_ENV" in problem and "--env-file" in problem
    assert _problems(REGISTRY % "{env: HOME}", {"HOME": "/root"}) == []
    # Even when a caller's mapping holds it, syncd's own variable is never read.
    [problem] = _problems(REGISTRY % "{env: SYNCD_ADMIN_TOKEN}", {"SYNCD_ADMIN_TOKEN": TOKEN})
    assert "SYNCD_ADMIN_TOKEN is never readable" in problem and TOKEN not in problem


def test_syncd_variables_are_never_the_operators_even_with_a_broad_prefix(
    tmp_path: Path,
) -> None:
    process = {"SYNCD_ADMIN_TOKEN": TOKEN, "syncd_read_token": TOKEN, "SHOP_PW": "s", "HOME": "h"}
    env_file = tmp_path / "env"
    env_file.write_text(f"FROM_FILE=f\nSYNCD_WEBHOOK_SECRET={TOKEN}\nSHOP_PW=file\n")
    assert variables([], [], process) == {}  # default: nothing from the process
    assert variables([], ["SHOP_PW"], process) == {"SHOP_PW": "s"}
    assert variables([], ["SHOP_*"], process) == {"SHOP_PW": "s"}
    assert variables([], ["*"], process) == {"SHOP_PW": "s", "HOME": "h"}
    assert variables([], ["S*"], process) == {"SHOP_PW": "s"}
    assert variables([str(env_file)], [], process) == {"FROM_FILE": "f", "SHOP_PW": "file"}
    assert variables([str(env_file)], ["SHOP_PW"], process)["SHOP_PW"] == "s"  # process wins
    for refused in ("SYNCD_ADMIN_TOKEN", "SYNCD_*", "syncd_x", "SYNCD*", "A B", "*X"):
        with pytest.raises(SyncdError, match="--allow-env"):
            allow_patterns(refused)
    assert allow_patterns("A, B_*,*") == ("A", "B_*", "*")


def test_interpolating_the_admin_token_is_refused_by_the_cli_even_with_allow_env_star(
    tmp_path: Path,
) -> None:
    (tmp_path / "s.yaml").write_text(LEAK)
    env = {**os.environ, "SYNCD_ADMIN_TOKEN": TOKEN, "SYNCD_ALLOW_ENV": "*"}
    for command in (["validate"], ["apply", "--dry-run", "--data-dir", str(tmp_path / "d")]):
        done = subprocess.run(
            [sys.executable, "-m", "syncd", *command, "--repo", str(tmp_path)],
            capture_output=True, text=True, check=False, env=env,
        )  # fmt: skip
        output = done.stdout + done.stderr
        assert done.returncode == 1, output
        assert "s.yaml:7:22: /services/app/environment/T: SYNCD_ADMIN_TOKEN is never" in output
        assert "--allow-env / SYNCD_ALLOW_ENV" in output
        assert TOKEN not in output


def test_allowed_names_prefixes_and_env_files_feed_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "s.yaml").write_text(
        "kind: Stack\nproject: shop\nservices:\n"
        "  web: {image: busybox:1.36, environment: {A: '${T_ONE}', B: '${T_TWO}'}}\n"
    )
    monkeypatch.setenv("T_ONE", "1")
    monkeypatch.setenv("T_TWO", "2")
    env_file = tmp_path / "env"
    env_file.write_text("T_TWO=2\n")
    assert main(["validate", "--repo", str(repo)]) == 1
    assert "T_ONE is not set" in capsys.readouterr().out
    assert main(["validate", "--repo", str(repo), "--allow-env", "T_*"]) == 0
    assert main(["validate", "--repo", str(repo), "--allow-env", "T_ONE"]) == 1
    argv = ["validate", "--repo", str(repo), "--allow-env", "T_ONE", "--env-file", str(env_file)]
    assert main(argv) == 0
    monkeypatch.setenv("SYNCD_ALLOW_ENV", "T_ONE,T_TWO")
    assert main(["validate", "--repo", str(repo)]) == 0
    assert main(["validate", "--repo", str(repo), "--allow-env", "SYNCD_ADMIN_TOKEN"]) == 1
    assert "syncd's own settings" in capsys.readouterr().err


def test_print_config_shows_the_secret_sources_and_variable_names_only(tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    env_file.write_text("FROM_FILE=file-value\n")
    done = subprocess.run(
        [sys.executable, "-m", "syncd", "run", "--repo", "/r", "--print-config",
         "--env-file", str(env_file), "--allow-env", "T_*", "--secrets-dir", str(tmp_path / "s")],
        capture_output=True, text=True, check=False,
        env={"HOME": str(tmp_path), "T_ALLOWED": "process-value", "SYNCD_ADMIN_TOKEN": TOKEN},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line[0] != "#"}
    assert f"{env_file}  (flag)" in lines["env-files"]
    assert "T_*  (flag)" in lines["allow-env"]
    assert f"{tmp_path / 's'}  (flag)" in lines["secrets-dir"]
    assert "# variables manifests may use: FROM_FILE, T_ALLOWED" in done.stdout
    assert "file-value" not in done.stdout and "process-value" not in done.stdout


def test_the_secrets_dir_defaults_to_the_data_dir(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "syncd", "run", "--repo", "/r", "--print-config"],
        capture_output=True, text=True, check=False,
        env={"HOME": str(tmp_path), "SYNCD_DATA_DIR": str(tmp_path / "data")},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line[0] != "#"}
    assert f"{tmp_path / 'data' / 'secrets'}  (default)" in lines["secrets-dir"]


def test_password_files_are_read_only_from_regular_files_inside_the_secrets_dir(
    tmp_path: Path,
) -> None:
    secrets = tmp_path / "secrets"
    (secrets / "team").mkdir(parents=True)
    (secrets / "team" / "pw").write_text("the-password\n")
    outside = tmp_path / "outside"
    outside.write_text("content-that-must-not-leak\n")
    (secrets / "escape").symlink_to(outside)
    (secrets / "team" / "up").symlink_to("../escape")
    (secrets / "inner").symlink_to("team/pw")  # a symlink that stays inside is fine
    (secrets / "big").write_bytes(b"x" * (MAX_SECRET_BYTES + 1))
    os.mkfifo(secrets / "fifo")

    assert read_password(_registry("file:team/pw"), {}, secrets) == "the-password"
    assert read_password(_registry(f"file:{secrets}/team/pw"), {}, secrets) == "the-password"
    assert read_password(_registry("file:inner"), {}, secrets) == "the-password"
    refused = {
        "file:escape": "resolves outside the secrets directory",
        "file:team/up": "resolves outside the secrets directory",
        f"file:{outside}": "is outside the secrets directory",
        "file:../outside": "is outside the secrets directory",
        "file:big": f"larger than {MAX_SECRET_BYTES} bytes",
        "file:fifo": "not a regular file",
        "file:team": "not a regular file",
        "file:missing": "cannot read the password file missing",
    }
    for ref, reason in refused.items():
        with pytest.raises(CredentialsError) as caught:
            read_password(_registry(ref), {}, secrets)
        message = str(caught.value)
        assert reason in message, (ref, message)
        assert message.startswith("registry shop/team (evil.example.com): ")
        assert "content-that-must-not-leak" not in message and "the-password" not in message


def test_password_variables_are_never_syncds_own(tmp_path: Path) -> None:
    env = {"SYNCD_ADMIN_TOKEN": TOKEN, "PW": "p"}
    assert read_password(_registry("env:PW"), env, tmp_path) == "p"
    with pytest.raises(CredentialsError, match="SYNCD_ADMIN_TOKEN is not set") as caught:
        read_password(_registry("env:SYNCD_ADMIN_TOKEN"), env, tmp_path)
    assert TOKEN not in str(caught.value)


@pytest.mark.docker
def test_a_pushed_manifest_cannot_hand_the_daemons_admin_token_to_a_container(
    deployment: Deployment,
) -> None:
    repo = GitRepo(deployment.repo)
    repo.write("leak.yaml", LEAK)
    head = repo.commit("leak")
    daemon = RunningDaemon(
        str(repo.path), deployment.settings.data_dir, deployment.instance,
        "--drift-interval", "3600",
        env={"SYNCD_ADMIN_TOKEN": TOKEN, "SYNCD_ALLOW_ENV": "*"},
    )  # fmt: skip
    try:
        daemon.started()
        status = wait_for(
            lambda: (s := daemon.status())["lastError"] and s["seenRevision"] == head and s,
            30,
            "the refused revision",
        )
        error = status["lastError"]
        assert error["stage"] == "parse"
        assert "leak.yaml:7:22: /services/app/environment/T: SYNCD_ADMIN_TOKEN" in error["message"]
        assert "--allow-env / SYNCD_ALLOW_ENV" in error["message"]
        assert status["appliedRevision"] is None
        assert deployment.containers() == []
        assert TOKEN not in daemon.http.get("/v2/syncd/daemon/status").text
        assert TOKEN not in daemon.log()
    finally:
        daemon.close()
