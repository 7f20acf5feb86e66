"""A failing git command is reported whole (issue 18): every line of its stderr, not the last
alone (git's last line is often `and the repository exists.`), bounded, credentials redacted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from syncd.errors import ExitCode
from syncd.source.gitargs import MAX_GIT_ERROR, git_error
from tests.daemon_support import free_port


def test_a_missing_remote_is_reported_with_every_line_git_wrote(tmp_path: Path) -> None:
    missing = tmp_path / "missing.git"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}
    done = subprocess.run(
        [
            sys.executable, "-m", "syncd", "run", "--repo", f"file://{missing}",
            "--data-dir", str(tmp_path / "data"), "--instance", "giterr",
            "--listen", f"127.0.0.1:{free_port()}",
        ],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == ExitCode.CONFIG, done.stderr
    err = done.stderr
    assert f"git ls-remote on file://{missing} failed:" in err
    # the cause (first line), git's verdict, and its advice: all of it, in git's order
    cause = err.index(f"'{missing}' does not appear to be a git repository")
    verdict = err.index("Could not read from remote repository")
    assert cause < verdict < err.index("and the repository exists.")


def test_gits_error_text_is_redacted_and_bounded() -> None:
    stderr = (
        "error: RPC failed; HTTP 403 curl 22 The requested URL returned error: 403\n"
        "fatal: unable to access 'https://deploy:tok-123@git.example.com/x.git/': 403\n"
    )
    shown = git_error(stderr, 128)
    assert "tok-123" not in shown and "https://<redacted>@git.example.com/x.git/" in shown
    assert shown.splitlines()[0].startswith("error: RPC failed; HTTP 403")
    assert git_error("", 128) == "exit 128"
    assert git_error("\x1b[31mfatal: red\x1b[0m\n", 1) == "[31mfatal: red[0m"  # no escapes
    huge = "".join(f"remote: line {n}\n" for n in range(2000)) + "fatal: the verdict\n"
    bounded = git_error(huge, 1)
    assert len(bounded) < MAX_GIT_ERROR + 100
    assert bounded.startswith("remote: line 0\n") and bounded.endswith("fatal: the verdict")
    assert "characters not shown" in bounded
