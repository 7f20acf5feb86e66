"""The harness that runs the pipelines of `ci/` as their CI would: a workflow's or job's shell
steps with bash, the CI's variables and `${{ … }}` expressions resolved (tests/test_ci_pipelines.py,
tests/test_ci_pipelines_api.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
CI = ROOT / "ci"
TOKEN = "ci-token-8d1e44a0"
EXPRESSION = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")


@dataclass(frozen=True)
class StepRun:
    name: str
    code: int
    stdout: str
    stderr: str


def shell_env(tmp_path: Path, ci: Mapping[str, str]) -> dict[str, str]:
    """A clean environment: PATH with `syncd` (this tree), and the CI's variables."""
    shims = tmp_path / "bin"
    shims.mkdir(exist_ok=True)
    shim = shims / "syncd"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m syncd "$@"\n')
    shim.chmod(0o755)
    return {
        "PATH": f"{shims}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "LANG": "C.UTF-8",
        "CI": "true",
        **ci,
    }


def _bash(script: str, cwd: Path, env: Mapping[str, str], tmp_path: Path) -> tuple[int, str, str]:
    path = tmp_path / "step.sh"
    path.write_text(script)
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path)],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


def run_actions(  # noqa: PLR0917 - the workflow, where and how it runs
    workflow_file: Path,
    workspace: Path,
    env: Mapping[str, str],
    context: Mapping[str, str],
    edits: Mapping[str, str],
    tmp_path: Path,
) -> list[StepRun]:
    """A GitHub/Gitea Actions workflow's one job: `${{ … }}` taken from `context` (an expression
    the test does not know fails it), `if:` as the runner reads it, `edits`: the values a user
    is told to edit under the job's `env:`."""
    workflow = yaml.safe_load(workflow_file.read_text())
    assert list(workflow.get("on", workflow.get(True))) == ["pull_request"]
    assert workflow["defaults"]["run"]["shell"] == "bash"
    [job] = workflow["jobs"].values()

    def expand(values: Mapping[str, Any]) -> dict[str, str]:
        return {k: EXPRESSION.sub(lambda m: context[m[1]], str(v)) for k, v in values.items()}

    assert set(edits) <= set(job["env"])
    job_env = {**env, **expand(job["env"]), **edits}
    runs: list[StepRun] = []
    failed = False
    for step in job["steps"]:
        if "uses" in step:
            action = step["uses"].split("@")[0]
            assert action in ("actions/checkout", "actions/setup-python")
            assert "fetch-depth" not in step.get("with", {})  # the default, shallow checkout
            continue
        if step["name"] == "Install syncd":  # as shipped, it refuses to guess a package
            code, out, err = _bash(step["run"], workspace, job_env, tmp_path)
            assert code == 1 and "set SYNCD_PACKAGE" in out + err
            assert "python -m pip install" in step["run"]
            continue
        condition = step.get("if")
        assert condition in (None, "${{ !cancelled() }}", "always()")
        if condition is None and failed:
            continue
        step_env = {**job_env, **expand(step.get("env", {}))}
        code, out, err = _bash(step["run"], workspace, step_env, tmp_path)
        runs.append(StepRun(step["name"], code, out, err))
        failed = failed or code != 0
    return runs


def run_gitlab(
    config_file: Path,
    workspace: Path,
    env: Mapping[str, str],
    edits: Mapping[str, str],
    tmp_path: Path,
) -> StepRun:
    """The job's `script:` as the runner runs it (one bash script, `set -eo pipefail`), with the
    job's `variables:`; `before_script:` only installs (not done: syncd is this tree)."""
    config = yaml.safe_load(config_file.read_text())
    [name] = config
    job = config[name]
    assert job["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    assert set(edits) <= set(job["variables"])
    variables = {k: str(v) for k, v in job["variables"].items()} | dict(edits)
    install = "\n".join(job["before_script"])  # as shipped, it refuses to guess a package
    code, out, err = _bash(install, workspace, {**env, **variables}, tmp_path)
    assert code == 1 and "set SYNCD_PACKAGE" in out + err and "pip install" in install
    script = "\n".join(job["script"])
    code, out, err = _bash(script, workspace, {**env, **variables}, tmp_path)
    return StepRun(name, code, out, err)
