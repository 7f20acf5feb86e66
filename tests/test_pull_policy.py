"""`pullPolicy` / Compose `pull_policy` and `platform` at apply time, on an in-memory engine at
syncd's `Engine` seam: `missing` pulls only an image the engine lacks, `always` pulls it for
every new container, `never` pulls nothing and fails a service whose image is missing (the
other services go on); a pull asks for the service's platform."""

from __future__ import annotations

from pathlib import Path

from syncd.apply.execute import SyncResult
from syncd.apply.reconcile import Reconciler
from syncd.apply.store import Store
from syncd.manifests import read_manifests
from syncd.settings import Settings
from tests.fake_engine import FakeEngine
from tests.planning import File

STACK = """\
kind: Stack
project: shop
services:
  web:
    image: busybox:1.36
    pullPolicy: {web}
  api:
    image: registry.example/api:1
    pullPolicy: {api}
    platform: linux/arm64
"""


def _sync(tmp_path: Path, engine: FakeEngine, text: str) -> SyncResult:
    settings = Settings(
        data_dir=tmp_path, instance="fake", health_timeout=1, stop_timeout=0, rollback_grace=0
    )
    store = Store(settings.state_file)
    try:
        manifests = read_manifests([File("stack.yaml", text.encode())], {})
        assert not manifests.errors, [str(p) for p in manifests.errors]
        return Reconciler(settings, engine, store, {}).sync(manifests, "r1")
    finally:
        store.close()


def test_missing_pulls_only_what_the_engine_lacks_with_the_platform(tmp_path: Path) -> None:
    engine = FakeEngine().have("busybox:1.36")
    result = _sync(tmp_path, engine, STACK.format(web="missing", api="missing"))
    assert result.ok
    assert engine.did("pull") == ["registry.example/api:1"]
    assert engine.platforms == ["linux/arm64"]


def test_always_pulls_an_image_the_engine_has(tmp_path: Path) -> None:
    engine = FakeEngine().have("busybox:1.36", "registry.example/api:1")
    result = _sync(tmp_path, engine, STACK.format(web="always", api="missing"))
    assert result.ok
    assert engine.did("pull") == ["busybox:1.36"]
    assert engine.platforms == [None]


def test_never_pulls_nothing_and_fails_only_the_service_whose_image_is_missing(
    tmp_path: Path,
) -> None:
    engine = FakeEngine().have("busybox:1.36")
    result = _sync(tmp_path, engine, STACK.format(web="never", api="never"))
    assert engine.did("pull") == []
    results = {r.key.name: (r.ok, r.detail) for r in result.services}
    assert results["web"][0] is True
    assert results["api"][0] is False
    assert "pull_policy is never" in results["api"][1]
    assert "shop/default/api" not in engine.did("create")
