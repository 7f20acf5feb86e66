"""What the plan step of the GitHub and Gitea pipelines echoes into the job's log quotes the pull
request (a manifest's values, a daemon's answer, an error), so no line of it may act as a
workflow command (`::error` annotations, `::add-mask`, `::stop-commands`). The step's own shell
runs with bash, with a `syncd` that prints forged commands; the log is then read as the runner
reads it (commands stop between `::stop-commands::TOKEN` and `::TOKEN::`)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
FORGED = "::error file=README.md,line=1::forged"
# a syncd that plans (exit 2, or 1: failed) and quotes a pusher's text on both streams
STUB = f"""#!/bin/sh
echo '### syncd plan'
echo '{FORGED}'
echo '::add-mask::the-plan'
echo '::stop-commands::guessed' >&2
echo '{FORGED} on stderr' >&2
exit "${{STUB_EXIT:-2}}"
"""


def _active_commands(log: str) -> list[str]:
    """The lines a GitHub runner would run as workflow commands, but the pipeline's own
    `::stop-commands::syncd-<random>` (a forged stop-commands is one: it hides annotations)."""
    active, stopped = [], None
    for line in log.splitlines():
        if stopped is not None:
            if line == f"::{stopped}::":
                stopped = None
            continue
        if not line.startswith("::"):
            continue
        if not re.fullmatch(r"::stop-commands::syncd-[0-9a-f]{32}", line):
            active.append(line)
        if match := re.match(r"^::stop-commands::(.+)$", line):
            stopped = match[1]
    return active


def _plan_step(name: str) -> str:
    workflow = yaml.safe_load((ROOT / "ci" / name).read_text())
    [job] = workflow["jobs"].values()
    [step] = [s for s in job["steps"] if s.get("name") == "Plan"]
    return str(step["run"])


@pytest.mark.parametrize("name", ["github-actions.yml", "gitea-actions.yml"])
@pytest.mark.parametrize("exit_code", ["2", "1"])
def test_no_line_the_plan_step_echoes_acts_as_a_workflow_command(
    tmp_path: Path, name: str, exit_code: str
) -> None:
    shims = tmp_path / "bin"
    shims.mkdir()
    (shims / "syncd").write_text(STUB)
    (shims / "syncd").chmod(0o755)
    env = {
        "PATH": f"{shims}:{os.environ['PATH']}",
        "SYNCD_REPO": ".",
        "BASE_REF": "main",
        "PR_NUMBER": "7",
        "STUB_EXIT": exit_code,
    }
    script = tmp_path / "step.sh"
    script.write_text(_plan_step(name))
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    log = done.stdout + done.stderr  # the runner reads both
    assert done.returncode == (0 if exit_code == "2" else 1), log
    assert FORGED in log  # shown in the log ...
    assert _active_commands(done.stdout) == []  # ... never run
    assert _active_commands(done.stderr) == []


@pytest.mark.parametrize("name", ["github-actions.yml", "gitea-actions.yml"])
def test_each_secret_goes_only_to_the_step_that_uses_it(name: str) -> None:
    """A job-level secret reaches every step: the install (a package's build code), validate,
    the third-party setup actions. Each secret is set on the one step that needs it."""
    workflow = yaml.safe_load((ROOT / "ci" / name).read_text())
    [job] = workflow["jobs"].values()
    assert not [v for v in job.get("env", {}).values() if "secrets." in str(v)]
    holders = {
        step["name"]: sorted(k for k, v in step.get("env", {}).items() if "secrets." in str(v))
        for step in job["steps"]
        if "name" in step
    }
    token = "GITHUB_TOKEN" if name.startswith("github") else "GITEA_TOKEN"
    assert {k: v for k, v in holders.items() if v} == {
        "Plan": ["SYNCD_READ_TOKEN"],
        "Comment": [token],
    }
