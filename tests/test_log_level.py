"""The default log level the README states is the one the code uses (issue 18)."""

from __future__ import annotations

import re
from pathlib import Path

from syncd.cli.main import build_parser, default_log_level

ROOT = Path(__file__).resolve().parent.parent


def _readme_default() -> str:
    readme = (ROOT / "README.md").read_text()
    [row] = [line for line in readme.splitlines() if line.startswith("| log level |")]
    return row.rstrip(" |").rsplit("|", 1)[1].strip()


def test_the_readme_states_the_default_log_level_the_code_uses() -> None:
    stated = _readme_default()
    levels = re.findall(r"`(debug|info|warning|error)`", stated)
    run, other = default_log_level("run"), default_log_level("plan")
    assert levels == [run, other], stated
    assert stated == f"`{run}` for `syncd run`, `{other}` for the other commands"
    for command in ("validate", "apply", "plan", "schema", "service"):
        assert default_log_level(command) == other


def test_the_cli_help_states_the_same_default() -> None:
    text = " ".join(build_parser().format_help().split())
    run, other = default_log_level("run"), default_log_level("plan")
    assert f"default: {run} for run, {other} for the other commands" in text
