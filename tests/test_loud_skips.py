"""No test is skipped silently: a skip is listed in a banner of the terminal summary, and a run
that requires everything (`make test`: SYNCD_REQUIRE_ALL=1; CI: CI=true) fails instead.
Runs pytest itself, with this suite's conftest as a plugin, on a tiny test file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROBE = """\
from tests.requirements import missing
import pytest

def test_needs_something() -> None:
    missing("the planted requirement is missing")

def test_skips_by_itself() -> None:
    pytest.skip("a planted plain skip")

def test_runs() -> None:
    pass
"""
QUIET = ("CI", "SYNCD_REQUIRE_ALL", "SYNCD_REQUIRE_DOCKER")


def _run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_probe.py").write_text(PROBE)
    clean = {k: v for k, v in os.environ.items() if k not in QUIET}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-q", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), str(tmp_path / "test_probe.py")],
        cwd=ROOT, env={**clean, "PYTHONPATH": str(ROOT), **env},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_every_skip_is_listed_in_a_banner(tmp_path: Path) -> None:
    done = _run(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    banner = done.stdout[done.stdout.index("2 TESTS WERE SKIPPED") :]
    assert "1 skipped: the planted requirement is missing" in banner
    assert "1 skipped: a planted plain skip" in banner
    assert "test_probe.py::test_needs_something" in banner


@pytest.mark.parametrize("env", [{"CI": "true"}, {"SYNCD_REQUIRE_ALL": "1"}])
def test_a_missing_requirement_fails_when_everything_is_required(
    tmp_path: Path, env: dict[str, str]
) -> None:
    done = _run(tmp_path, **env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAILED" in done.stdout and "the planted requirement is missing" in done.stdout
    assert "1 failed, 1 passed, 1 skipped" in done.stdout  # a plain skip stays a (loud) skip


def test_make_test_requires_everything() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile[makefile.index("\ntest:") :].split("\n\n", 1)[0]
    assert "SYNCD_REQUIRE_ALL=1" in recipe and "pytest" in recipe
