"""The operator's policy and the active profiles, as settings of `validate`, `plan`, `apply`
and `run`: a broken policy file is a configuration error at its line (exit 78), a policy file
inside the manifest repo is refused, `SYNCD_POLICY_FILE` and `SYNCD_PROFILES` work like their
flags, the daemon reads with the same policy, and a service outside the active profiles is
checked but not deployed (decision D26: its policy needs are a warning)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from syncd.cli.main import build_parser, main
from syncd.daemon import config as runconfig
from syncd.errors import ExitCode, PolicyFileError
from tests.fake_engine import FakeEngine
from tests.gitrepo import GitRepo
from tests.test_readme_claims import InProcess

REFUSED = "is not allowed by the operator's policy"
NATIVE = "kind: Stack\nproject: shop\nservices:\n  web: {image: busybox:1.36}\n"
PROFILED = """\
services:
  web:
    image: busybox:1.36
  debug:
    image: busybox:1.36
    profiles: [debug]
  agent:
    image: busybox:1.36
    profiles: [ci]
    pid: host
"""


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _repo(tmp_path: Path, files: dict[str, str]) -> GitRepo:
    repo = GitRepo(tmp_path / "repo")
    for name, text in files.items():
        repo.write(name, text)
    repo.commit("first")
    return repo


BROKEN = "default:\n  privileged: true\n  hostPath: [/srv]\n"  # a typo, at line 3


@pytest.mark.parametrize(
    "command",
    [
        ["validate"],
        ["plan", "--base", "HEAD", "--head", "HEAD"],
        ["apply", "--dry-run"],
    ],
    ids=["validate", "plan", "apply"],
)
def test_a_broken_policy_file_is_a_configuration_error_at_its_line(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _repo(tmp_path, {"stacks/shop.yaml": NATIVE})
    policy = tmp_path / "etc" / "policy.yaml"
    policy.parent.mkdir()
    policy.write_text(BROKEN)
    data = ["--data-dir", str(tmp_path / "data")] if command[0] == "apply" else []
    code, _, err = _run(capsys, *command, "--repo", str(repo.path), *data, "--policy", str(policy))
    assert code == ExitCode.CONFIG, err  # 78, sysexits' EX_CONFIG
    assert f"{policy}:3:3: /default/hostPath: unknown key 'hostPath'" in err, err
    assert "did you mean 'hostPaths'" in err


def test_run_refuses_to_start_with_a_broken_or_missing_policy_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _repo(tmp_path, {"stacks/shop.yaml": NATIVE})
    policy = tmp_path / "policy.yaml"
    policy.write_text("default: {privileged: 'yes'}\n")
    base = ["run", "--repo", str(repo.path), "--data-dir", str(tmp_path / "data")]
    code, _, err = _run(capsys, *base, "--policy", str(policy))
    assert code == ExitCode.CONFIG, err
    assert f"{policy}:1:23: /default/privileged: expected true or false" in err, err
    monkeypatch.setenv("SYNCD_POLICY_FILE", str(tmp_path / "missing.yaml"))
    code, _, err = _run(capsys, *base)
    assert code == ExitCode.CONFIG, err
    assert "cannot read the policy file" in err and "missing.yaml" in err


def test_a_policy_file_inside_the_manifest_repo_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _repo(tmp_path, {"stacks/shop.yaml": NATIVE, "policy.yaml": "default: {}\n"})
    code, _, err = _run(
        capsys, "validate", "--repo", str(repo.path), "--policy", str(repo.path / "policy.yaml")
    )
    assert code == ExitCode.CONFIG
    assert "inside the manifest repository" in err
    # nor through a symlink kept outside the repo
    link = tmp_path / "policy-link.yaml"
    link.symlink_to(repo.path / "policy.yaml")
    code, _, err = _run(capsys, "validate", "--repo", str(repo.path), "--policy", str(link))
    assert code == ExitCode.CONFIG
    assert "inside the manifest repository" in err
    args = build_parser().parse_args(["run", "--repo", f"file://{repo.path}"])
    with pytest.raises(PolicyFileError, match="inside the manifest repository"):
        runconfig.resolve(args, {"SYNCD_POLICY_FILE": str(repo.path / "policy.yaml")})
    # nor beside the manifest folder given, in the same git repository (pushed all the same)
    stacks = str(repo.path / "stacks")
    for rev in ([], ["--rev", "HEAD"]):
        policy = str(repo.path / "policy.yaml")
        code, _, err = _run(capsys, "validate", "--repo", stacks, *rev, "--policy", policy)
        assert code == ExitCode.CONFIG, err
        assert "inside the manifest repository" in err


def test_the_policy_comes_from_the_environment_too_and_run_resolves_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    compose = "services:\n  app:\n    image: busybox:1.36\n    pid: host\n"
    repo = _repo(tmp_path, {"acc/compose.yaml": compose})
    policy = tmp_path / "policy.yaml"
    policy.write_text("projects:\n  acc: {hostNamespaces: true}\n")
    _, out, err = _run(capsys, "validate", "--repo", str(repo.path))
    assert REFUSED in out + err
    monkeypatch.setenv("SYNCD_POLICY_FILE", str(policy))
    _, out, err = _run(capsys, "validate", "--repo", str(repo.path))
    assert REFUSED not in out + err, out + err
    args = build_parser().parse_args(["run", "--repo", str(repo.path)])
    _, settings, _ = runconfig.resolve(args, dict(os.environ))
    assert settings.policy.allowed("acc").host_namespaces
    assert not settings.policy.allowed("other").host_namespaces
    assert settings.policy_file == policy
    described = runconfig.describe(*runconfig.resolve(args, dict(os.environ)))
    assert any(
        line.split() == ["policy-file", str(policy), "(env)"] for line in described.splitlines()
    ), described


def test_the_daemon_checks_each_revision_against_the_policy(tmp_path: Path) -> None:
    made = InProcess(tmp_path, NATIVE, FakeEngine(instance="claims").have("busybox:1.36"))
    try:
        made.repo.write(
            "acc/compose.yaml", "services:\n  app:\n    image: busybox:1.36\n    ipc: host\n"
        )
        made.repo.commit("ask for the host's IPC namespace")
        made.sync()
        error = made.daemon.status.last_error
        assert error is not None
        assert "acc/compose.yaml:4:10" in str(error.message), error
        assert "set hostNamespaces: true (projects.acc.hostNamespaces" in str(error.message)
    finally:
        made.close()


def _planned(capsys: pytest.CaptureFixture[str], repo: GitRepo, base: str, *extra: str) -> set[str]:
    code, out, err = _run(
        capsys, "plan", "--repo", str(repo.path), "--base", base, "--head", "HEAD",
        "--format", "json", *extra,
    )  # fmt: skip
    assert code in (ExitCode.OK, ExitCode.CHANGES), err
    plan = json.loads(out)
    return {
        s["service"]
        for stack in plan["stacks"]
        for s in stack["services"]
        if s["service"].startswith("tools/")
    }


def test_profiles_choose_the_services_that_are_deployed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _repo(tmp_path, {"stacks/shop.yaml": NATIVE})
    base = repo.commit("base")
    repo.write("tools/compose.yaml", PROFILED.replace("    pid: host\n", ""))
    repo.commit("a Compose stack with profiles")
    assert _planned(capsys, repo, base) == {"tools/default/web"}
    both = _planned(capsys, repo, base, "--profile", "debug", "--profile", "ci")
    assert both == {"tools/default/web", "tools/default/debug", "tools/default/agent"}
    monkeypatch.setenv("SYNCD_PROFILES", "debug")
    assert _planned(capsys, repo, base) == {"tools/default/web", "tools/default/debug"}
    code, _, err = _run(capsys, "validate", "--repo", str(repo.path), "--profile", "no good")
    assert code == ExitCode.ERROR and "not a Compose profile name" in err


def test_an_undeployed_services_policy_needs_are_a_warning_d26(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _repo(tmp_path, {"tools/compose.yaml": PROFILED})
    _, out, err = _run(capsys, "validate", "--repo", str(repo.path))
    lines = [line for line in (out + err).splitlines() if "/services/agent/pid" in line]
    warned = [line for line in lines if REFUSED in line]
    assert warned and all(" warning: " in line for line in warned), lines
    assert "not deployed" in warned[0] and "hostNamespaces" in warned[0]
    _, out, err = _run(capsys, "validate", "--repo", str(repo.path), "--profile", "ci")
    refused = [line for line in (out + err).splitlines() if REFUSED in line]
    assert refused and all(" warning: " not in line for line in refused), refused
    assert "tools/compose.yaml:10:10: /services/agent/pid" in refused[0]


def test_a_policy_file_that_is_not_a_regular_file_is_refused_without_blocking(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _repo(tmp_path, {"stacks/shop.yaml": NATIVE})
    fifo = tmp_path / "policy.fifo"
    os.mkfifo(fifo)  # opening it to read would wait for a writer forever
    code, _, err = _run(capsys, "validate", "--repo", str(repo.path), "--policy", str(fifo))
    assert code == ExitCode.CONFIG
    assert "is not a regular file" in err
