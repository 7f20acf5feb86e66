"""`make run` (scripts/run-sample.sh) as a new user meets it (issue 18): it takes data dir,
instance and listen address from syncd's own settings, passes no flag that overrides them, and
its hints name the real container and address. The script runs for real in a copy of the
checkout whose `.venv/bin/syncd` records the daemon's command line instead of starting it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAKE_SYNCD = """\
#!/usr/bin/env bash
# `--print-config` is syncd's own; the daemon itself is only recorded.
for arg in "$@"; do
    if [[ $arg == --print-config ]]; then exec {python} -m syncd "$@"; fi
done
printf '%s\\n' "$@" > "$RECORD"
env | grep '^SYNCD_' | sort >> "$RECORD"
"""


def _checkout(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "run-sample.sh", root / "scripts")
    shutil.copytree(ROOT / "sample-repo", root / "sample-repo")
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    (bin_dir / "syncd").write_text(FAKE_SYNCD.format(python=sys.executable))
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    return root


def _run(tmp_path: Path, **settings: str) -> tuple[str, list[str]]:
    root = _checkout(tmp_path)
    record = tmp_path / "daemon-command"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}
    # XDG_STATE_HOME: whatever the script does, never the host's own data dir
    env |= {"RECORD": str(record), "XDG_STATE_HOME": str(tmp_path / "state"), **settings}
    done = subprocess.run(
        [str(root / "scripts" / "run-sample.sh")],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout, record.read_text().splitlines()


def test_make_run_uses_syncd_instance_data_dir_and_listen_and_shows_the_real_names(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    out, daemon = _run(
        tmp_path,
        SYNCD_DATA_DIR=str(data),
        SYNCD_INSTANCE="blue",
        SYNCD_LISTEN="127.0.0.1:9191",
    )
    bare = data / "sample-repo.git"
    assert (bare / "HEAD").is_file()  # the sample, pushed into the data dir
    assert f"git clone {bare} /tmp/sample-work" in out
    assert "docker inspect blue_shop_default_web --format" in out
    assert "curl -s http://127.0.0.1:9191/v2/syncd/daemon/status" in out
    assert "curl -s http://127.0.0.1:9191/v2/syncd/syncs" in out
    # the daemon gets no flag that would override the user's settings: it reads them itself
    command, env = daemon[:5], daemon[5:]
    assert command == ["run", "--repo", str(bare), "--allow-env", "SHOP_REGISTRY_PASSWORD"]
    assert f"SYNCD_DATA_DIR={data}" in env
    assert "SYNCD_INSTANCE=blue" in env and "SYNCD_LISTEN=127.0.0.1:9191" in env


def test_make_run_by_default_and_with_a_config_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    out, _ = _run(tmp_path / "a", SYNCD_DATA_DIR=str(data))
    assert "docker inspect shop_default_web --format" in out  # the default instance: no prefix
    assert "curl -s http://127.0.0.1:8080/v2/syncd/daemon/status" in out
    config = tmp_path / "syncd.yaml"
    config.write_text(f"listen: 127.0.0.1:7070\ninstance: green\ndata-dir: {data}\n")
    out, daemon = _run(tmp_path / "b", SYNCD_CONFIG=str(config))
    assert "docker inspect green_shop_default_web --format" in out
    assert "curl -s http://127.0.0.1:7070/v2/syncd/syncs" in out
    assert daemon[:3] == ["run", "--repo", str(data / "sample-repo.git")]


def test_the_readme_quickstart_shows_the_container_name_of_another_instance() -> None:
    readme = (ROOT / "README.md").read_text()
    quickstart = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    assert "SYNCD_INSTANCE=blue" in quickstart and "blue_shop_default_web" in quickstart
