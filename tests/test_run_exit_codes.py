"""`syncd run` with a setting it cannot use exits 78 (`ExitCode.CONFIG`) with a message that
says how to fix it, as the README's start-up exit codes say (issue 18)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from syncd.errors import ExitCode

ROOT = Path(__file__).resolve().parent.parent


def _run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}
    command = [sys.executable, "-m", "syncd", "run", "--repo", str(tmp_path),
               "--data-dir", str(tmp_path / "data"), *args]  # fmt: skip
    return subprocess.run(
        command, env={**clean, **env}, capture_output=True, text=True, timeout=60, check=False
    )


def test_listen_without_a_port_exits_78_and_says_to_give_one(tmp_path: Path) -> None:
    done = _run(tmp_path, "--listen", "localhost")
    assert done.returncode == ExitCode.CONFIG
    assert "--listen 'localhost' has no port: give HOST:PORT (e.g. localhost:8080)" in done.stderr
    by_variable = _run(tmp_path, SYNCD_LISTEN="localhost")
    assert by_variable.returncode == ExitCode.CONFIG and "has no port" in by_variable.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--listen", "127.0.0.1:99999"), "port 1-65535"),
        (("--poll-interval", "soon"), "is not a number of seconds"),
        (("--max-removal-share", "most"), "most"),
    ],
)
def test_other_unusable_run_settings_exit_78(
    tmp_path: Path, args: tuple[str, ...], says: str
) -> None:
    done = _run(tmp_path, *args)
    assert done.returncode == ExitCode.CONFIG, done.stderr
    assert says in done.stderr


def test_an_unknown_mode_in_the_environment_exits_78(tmp_path: Path) -> None:
    done = _run(tmp_path, SYNCD_MODE="dry")
    assert done.returncode == ExitCode.CONFIG and "mode 'dry' is not one of" in done.stderr


def test_the_readme_names_the_exit_code_of_a_listen_address_without_port() -> None:
    readme = (ROOT / "README.md").read_text()
    [row] = [line for line in readme.splitlines() if line.startswith("| 78 |")]
    assert "a setting is unusable (`--listen localhost` without a port" in row
