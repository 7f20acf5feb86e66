"""The forked `syncd` commands of the kill-point tests keep their exit code when the forkserver
that reports it is lost (multiprocessing then says 255, cpython#140867)."""

from __future__ import annotations

import os
import signal
from multiprocessing import forkserver
from pathlib import Path

import pytest

from tests.forkedcli import LOST, Cli

BROKEN = "kind: Stack\nproject: p\nservices:\n  web: {image: busybox:1.36, restart: sometimes}\n"


def _argv(tmp_path: Path) -> list[str]:
    repo = tmp_path / "repo"
    repo.mkdir(exist_ok=True)
    (repo / "web.yaml").write_text(BROKEN)
    return ["validate", "--repo", str(repo)]


def test_a_command_reports_its_code_and_stderr(tmp_path: Path) -> None:
    cli = Cli(_argv(tmp_path), {})
    code = cli.finish("validate", 60)
    assert code not in (0, LOST) and code == cli.exitcode
    assert "web.yaml:4" in cli.said and "restart" in cli.said, cli.said


def test_a_status_the_forkserver_lost_is_read_from_the_command_s_record(tmp_path: Path) -> None:
    expected = Cli(_argv(tmp_path), {}).finish("validate", 60)
    hold = tmp_path / "go"
    cli = Cli(_argv(tmp_path), {}, hold=hold)  # waits for `hold` before it runs
    server = forkserver._forkserver._forkserver_pid  # type: ignore[attr-defined]
    assert server is not None
    os.kill(server, signal.SIGKILL)  # its status pipe to us ends: the status is lost
    cli.join(60)
    assert cli.exitcode == LOST
    hold.touch()
    with pytest.warns(UserWarning, match="lost the exit status; recorded"):
        assert cli.finish("validate", 60) == expected, cli.said
    assert "web.yaml:4" in cli.said
    assert Cli(_argv(tmp_path), {}).finish("validate", 60) == expected  # a new forkserver
