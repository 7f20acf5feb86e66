"""A production install: `pip install` of the package, without the test extra, into a fresh venv
(python -m venv, the real pip, PyPI through pip's cache) gives a working `syncd` and none of the
test tools. The package is installed from a copy of its sources (pyproject.toml, README.md,
syncd/), so the build never writes into the checkout other tests read. About a minute; one venv
for the whole file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd import __version__

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample-repo"
TEST_ONLY = ("pytest", "mypy", "hypothesis", "schemathesis", "httpx", "jsonschema", "mutmut")

pytestmark = pytest.mark.install


def _run(
    args: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`args` outside this checkout's venv: no PYTHONPATH, no VIRTUAL_ENV."""
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        args,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
        cwd=cwd,
        env=base | {"PIP_DISABLE_PIP_VERSION_CHECK": "1"} | (env or {}),
    )


@pytest.fixture(scope="module")
def clean_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv holding `pip install <copy of the repo>`: the runtime dependencies only."""
    base = tmp_path_factory.mktemp("install")
    source = base / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "syncd", source / "syncd", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    venv = base / "venv"
    made = _run([sys.executable, "-m", "venv", str(venv)])
    assert made.returncode == 0, made.stderr
    installed = _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(source)])
    assert installed.returncode == 0, installed.stdout + installed.stderr
    yield venv


def test_the_installed_command_reports_its_version(clean_venv: Path) -> None:
    done = _run([str(clean_venv / "bin" / "syncd"), "--version"])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"syncd {__version__}"


def test_the_installed_command_validates_the_sample_repo(clean_venv: Path) -> None:
    done = _run(
        [str(clean_venv / "bin" / "syncd"), "validate", "--repo", str(SAMPLE)],
        env={"SHOP_REGISTRY_PASSWORD": "x", "SYNCD_ALLOW_ENV": "SHOP_REGISTRY_PASSWORD"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "valid, 0 error(s)" in done.stdout


@pytest.mark.parametrize("module", TEST_ONLY)
def test_the_test_tools_are_not_installed(clean_venv: Path, module: str) -> None:
    done = _run([str(clean_venv / "bin" / "python"), "-c", f"import {module}"])
    assert done.returncode != 0
    assert "ModuleNotFoundError" in done.stderr


def test_every_module_of_the_package_imports_without_the_test_extra(clean_venv: Path) -> None:
    """Nothing the package imports, at any depth, comes only with `[test]`; and the package that
    runs is the installed copy, not this checkout."""
    code = (
        "import importlib, pkgutil, syncd\n"
        "names = [m.name for m in pkgutil.walk_packages(syncd.__path__, 'syncd.')]\n"
        "names.remove('syncd.__main__')  # runs the command line\n"
        "for name in names: importlib.import_module(name)\n"
        "print(len(names), syncd.__file__)\n"
    )
    done = _run([str(clean_venv / "bin" / "python"), "-c", code], cwd=clean_venv)
    assert done.returncode == 0, done.stderr
    count, where = done.stdout.split()
    assert int(count) > 100
    assert Path(where).is_relative_to(clean_venv)


def test_the_installed_command_scaffolds_a_repository(clean_venv: Path, tmp_path: Path) -> None:
    """`syncd init`'s templates are package data: the installed copy has every one of them."""
    syncd = str(clean_venv / "bin" / "syncd")
    repo = tmp_path / "deploy"
    done = _run([syncd, "init", str(repo), "--no-git"])
    assert done.returncode == 0, done.stderr
    assert (repo / ".github/workflows/syncd.yml").read_bytes() == (
        ROOT / "ci/github-actions.yml"
    ).read_bytes()
    done = _run([syncd, "validate", "--repo", str(repo), "--unset-ok"])
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_installed_package_has_the_status_pages_style_and_script(clean_venv: Path) -> None:
    """The status page's `static/` files are package data: the installed copy serves them."""
    code = (
        "from importlib import resources\n"
        "from syncd.api.page import STATIC\n"
        "folder = resources.files('syncd.api') / 'static'\n"
        "print(sorted(n for n in STATIC if (folder / n).read_bytes()), folder)\n"
    )
    done = _run([str(clean_venv / "bin" / "python"), "-c", code], cwd=clean_venv)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("['page.css', 'page.js']") and str(clean_venv) in done.stdout
