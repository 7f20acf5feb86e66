"""Compose files read as stacks by `read_manifests`, from a real git revision (issue 13).

A Compose file beside native manifests is one more stack; YAML files in its folder are data
(decision D19) unless they carry a syncd `kind`; a key syncd cannot honour, or cannot carry yet,
is a located error naming the key.
"""

from __future__ import annotations

import re
from pathlib import Path

from syncd.manifests import ManifestSet, read_manifests
from syncd.source.reader import read_revision
from tests.gitrepo import GitRepo

NATIVE = """\
kind: Stack
project: web
name: default
services:
  app:
    image: busybox:1.36
"""

COMPOSE = """\
services:
  db:
    image: postgres:16
    command: ["postgres", "-c", "max_connections=50"]
    environment:
      POSTGRES_PASSWORD: ${DB_PASSWORD}
  api:
    image: busybox:1.36
    depends_on: [db]
"""

DATA = """\
global:
  scrape_interval: 15s
scrape_configs:
  - job_name: api
"""


def _read(repo: GitRepo, env: dict[str, str] | None = None) -> ManifestSet:
    snap = read_revision(repo.path, repo.commit())
    return read_manifests(snap.files, env or {}, problems=snap.problems)


def _repo(tmp_path: Path, compose: str = COMPOSE) -> GitRepo:
    repo = GitRepo(tmp_path / "repo")
    repo.write("stacks/web.yaml", NATIVE)
    repo.write("stacks/shop/compose.yaml", compose)
    repo.write("stacks/shop/prometheus.yml", DATA)
    repo.write("stacks/shop/grafana/provisioning/datasources.yaml", "apiVersion: 1\n")
    return repo


def test_a_compose_file_beside_a_native_stack_is_a_stack(tmp_path: Path) -> None:
    manifests = _read(_repo(tmp_path), {"DB_PASSWORD": "s3cret-value"})
    assert [str(p) for p in manifests.errors] == []
    stacks = {(s.manifest.project, s.manifest.name): s.manifest for s in manifests.stacks}
    assert set(stacks) == {("web", "default"), ("shop", "default")}
    shop = stacks["shop", "default"]
    assert sorted(shop.services) == ["api", "db"]
    assert "s3cret-value" in manifests.secret_values()


def test_yaml_beside_a_compose_file_is_data_unless_it_has_a_kind(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    op = "{op: replace, path: /services/api/image, value: busybox:1.37}"
    patch = f"kind: StackPatch\nproject: shop\npatch:\n  - {op}\n"
    repo.write("stacks/shop/overlay.yaml", patch)
    manifests = _read(repo, {"DB_PASSWORD": "x"})
    assert [str(p) for p in manifests.problems] == []
    assert [p.manifest.project for p in manifests.patches] == ["shop"]


def test_build_is_a_located_error_naming_build(tmp_path: Path) -> None:
    compose = COMPOSE + "    build: ./api\n"
    manifests = _read(_repo(tmp_path, compose), {"DB_PASSWORD": "x"})
    [error] = manifests.errors
    assert error.path == "stacks/shop/compose.yaml"
    assert (error.position.line, error.pointer) == (10, "/services/api/build")
    assert re.search(r"\bbuild\b", error.message)
    assert "registry" in error.message
    assert [s.manifest.project for s in manifests.stacks] == ["web"]


def test_a_key_not_carried_yet_is_an_error_naming_it(tmp_path: Path) -> None:
    compose = COMPOSE + "    gpus: all\n"
    manifests = _read(_repo(tmp_path, compose), {"DB_PASSWORD": "x"})
    errors = [p for p in manifests.errors if p.path == "stacks/shop/compose.yaml"]
    assert errors, "a key syncd drops must not pass silently"
    assert all(p.position.line == 10 for p in errors)
    assert any("gpus" in p.message for p in errors)


def test_a_compose_file_holds_one_document(tmp_path: Path) -> None:
    manifests = _read(_repo(tmp_path, COMPOSE + "---\nservices: {}\n"), {"DB_PASSWORD": "x"})
    [error] = manifests.errors
    assert error.path == "stacks/shop/compose.yaml"
    assert "one document" in error.message
    assert error.position.line == 11  # the second document


def test_two_compose_files_in_one_folder_are_one_stack_declared_twice(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    repo.write("stacks/shop/docker-compose.yml", COMPOSE)
    manifests = _read(repo, {"DB_PASSWORD": "x"})
    [error] = manifests.errors
    assert error.path == "stacks/shop/docker-compose.yml"
    assert "already declared at stacks/shop/compose.yaml" in error.message
