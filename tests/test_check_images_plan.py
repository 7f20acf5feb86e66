"""Which images `--check-images` asks about, once each, and where their errors point (the
line that sets the image: a Stack, a StackPatch op, a Compose file), without secret values.
The engine is the fake one; `test_check_images` asks the real engine and registry."""

from __future__ import annotations

from pathlib import Path

from syncd.apply.imagecheck import check_images
from syncd.core.desired import resolve
from syncd.core.live import LiveState
from syncd.core.plan import as_live, plan
from syncd.manifests import ManifestFile, read_manifests
from syncd.settings import Settings
from tests.fake_engine import FakeEngine

STACK = """\
kind: Stack
project: shop
services:
  web:
    image: "registry.example.com/web:${TAG}"
  worker:
    image: "registry.example.com/web:${TAG}"
  db:
    image: postgres:16
"""
PATCH = """\
kind: StackPatch
project: shop
patch:
  - {op: replace, path: /services/db/image, value: "postgres:99"}
"""
COMPOSE = """\
services:
  cache:
    image: redis:nope
  local:
    image: built-here:1
    pull_policy: never
"""


def _check(
    tmp_path: Path, files: dict[str, str], env: dict[str, str], engine: FakeEngine, *, live: bool
) -> list[str]:
    manifests = read_manifests([ManifestFile(p, t.encode()) for p, t in files.items()], env)
    assert not manifests.errors, manifests.errors
    desired = resolve(manifests, "r1")
    base = as_live(desired) if live else LiveState()
    result = plan(desired, base)
    problems = check_images(
        engine,
        result,
        registries=desired.registries,
        manifests=manifests,
        env=env,
        settings=Settings(data_dir=tmp_path),
    ).problems
    return [str(p) for p in problems]


def test_each_image_is_asked_once_and_each_service_gets_its_error(tmp_path: Path) -> None:
    tag = "tag-from-the-operator-71c2"
    engine = FakeEngine(fail_pull={f"registry.example.com/web:{tag}", "postgres:99"})
    files = {"shop.yaml": STACK, "zz-patch.yaml": PATCH, "app/compose.yaml": COMPOSE}
    problems = _check(tmp_path, files, {"TAG": tag}, engine, live=False)
    assert sorted(engine.did("distribution")) == sorted(
        [f"registry.example.com/web:{tag}", "postgres:99", "redis:nope"]
    )
    assert problems[0].startswith("shop.yaml:5:12: /services/web/image: image <redacted>")
    assert problems[1].startswith("shop.yaml:7:12: /services/worker/image: image <redacted>")
    assert problems[2].startswith(
        "zz-patch.yaml:4:52: /patch/0/value: image postgres:99 cannot be resolved"
    )
    assert len(problems) == 3  # redis:nope resolves in this fake
    assert all(tag not in p for p in problems)


def test_a_compose_file_image_is_located_and_unchanged_images_are_not_asked(
    tmp_path: Path,
) -> None:
    engine = FakeEngine(fail_pull={"redis:nope", "built-here:1"})
    [problem] = _check(tmp_path, {"app/compose.yaml": COMPOSE}, {}, engine, live=False)
    assert problem.startswith("app/compose.yaml:3:12: /services/cache/image: image redis:nope")
    assert "manifest unknown" in problem
    assert engine.did("distribution") == ["redis:nope"]  # never pulled: never asked
    again = FakeEngine(fail_pull={"redis:nope"})
    assert _check(tmp_path, {"app/compose.yaml": COMPOSE}, {}, again, live=True) == []
    assert again.did("distribution") == []
