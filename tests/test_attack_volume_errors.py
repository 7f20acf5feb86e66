"""A volume's driver options may come from the operator's environment (`device:
/srv/shared/${TENANT}`): when creating it fails (here: the apply-time check finds the device,
its symlinks resolved, outside the policy's hostPaths), the sync's error names the volume but
never the values from the environment, in the result and in the logs. Pure (fake engine, a
real folder with a symlink)."""

from __future__ import annotations

from pathlib import Path

import pytest
import structlog

from syncd.apply.reconcile import Reconciler
from syncd.apply.store import Store
from syncd.manifests import read_manifests
from syncd.policy import Policy
from syncd.settings import Settings
from tests.fake_engine import FakeEngine
from tests.planning import File

SECRET = "tenant-4f1c9e"
STACK = """\
kind: Stack
project: shop
services:
  web:
    image: busybox:1.36
    volumes: ["data:/data"]
volumes:
  data:
    driverOpts: {{type: none, o: bind, device: "{allowed}/${{TENANT}}"}}
"""
COMPOSE = """\
services:
  web:
    image: busybox:1.36
    volumes: ["data:/data"]
volumes:
  data:
    driver_opts: {{type: none, o: bind, device: "{allowed}/${{TENANT}}"}}
"""


@pytest.mark.parametrize(
    ("path", "text"), [("shop/stack.yaml", STACK), ("shop/compose.yaml", COMPOSE)]
)
def test_a_failed_volume_creation_does_not_show_values_from_the_environment(
    tmp_path: Path, path: str, text: str
) -> None:
    real = tmp_path / "real"
    (real / SECRET).mkdir(parents=True)
    allowed = tmp_path / "allowed"
    allowed.symlink_to(real)  # /allowed/<x> resolves to /real/<x>: outside hostPaths
    policy = Policy.model_validate({"default": {"hostPaths": [str(allowed)]}})
    settings = Settings(data_dir=tmp_path / "data", instance="fake", policy=policy)
    env = {"TENANT": SECRET}
    files = [File(path, text.format(allowed=allowed).encode())]
    manifests = read_manifests(files, env, policy=policy)
    assert not manifests.errors, [str(p) for p in manifests.errors]
    engine = FakeEngine()
    reconciler = Reconciler(settings, engine, Store(settings.state_file), env)
    with structlog.testing.capture_logs() as logs:
        result = reconciler.sync(manifests, "r1")
    assert any("creating volume" in e and "hostPaths" in e for e in result.errors), result.errors
    assert SECRET not in " ".join(result.errors)
    assert SECRET not in repr(logs)
    assert not engine.volumes  # refused: never created
