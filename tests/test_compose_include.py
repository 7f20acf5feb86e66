"""Top-level `include` (`syncd.manifests.compose.include`): other Compose files of the revision
add their services and volumes; what is defined twice, and what include cannot name, are located
errors; included relative paths are rebased; the included file is data, not a manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from syncd.cli.main import main
from syncd.manifests.compose.reader import Conversion, compose_to_stack
from syncd.manifests.yamlsafe import Schema, load
from syncd.problems import Severity
from tests.gitrepo import GitRepo

DB = """\
services:
  db:
    image: busybox:1.36
    env_file: db.env
    volumes: ["dbdata:/var/lib/db"]
volumes:
  dbdata: {}
"""


def convert(text: str, files: dict[str, str]) -> Conversion:
    path = "shop/compose.yaml"
    revision = {path: text.encode(), **{k: v.encode() for k, v in files.items()}}
    documents, problems = load(path, revision[path], schema=Schema.COMPOSE)
    assert not problems, problems
    return compose_to_stack(documents[0], {}, revision)


def services(conv: Conversion) -> dict[str, Any]:
    assert conv.data is not None, [str(p) for p in conv.problems]
    found: dict[str, Any] = conv.data["services"]
    return found


def test_included_services_and_volumes_join_the_stack() -> None:
    conv = convert(
        "include:\n  - ../common/db.yaml\nservices:\n"
        "  web: {image: busybox:1.36, depends_on: [db]}\n"
        "  worker: {extends: db, command: [sleep, '5']}\n",
        {"common/db.yaml": DB, "common/db.env": "LEVEL=db\n"},
    )
    found = services(conv)
    assert set(found) == {"web", "worker", "db"}
    assert found["db"]["environment"] == {"LEVEL": "db"}  # env_file rebased onto shop/
    assert found["worker"]["volumes"] == ["dbdata:/var/lib/db"]
    assert conv.data is not None and "dbdata" in conv.data["volumes"]
    assert "common/db.yaml" in conv.referenced


@pytest.mark.parametrize(
    ("include", "wanted"),
    [
        ("[../common/db.yaml]\nservices:\n  db: {image: busybox:1.36}", "already defined in"),
        ("[../../outside.yaml]\nservices: {}", "is not a file of the repo"),
        ("['https://example.com/c.yaml']\nservices: {}", "is not a file of the repo"),
        ("[missing.yaml]\nservices: {}", "is not in the revision"),
        ("[{path: ../common/db.yaml, env_file: x.env}]\nservices: {}", "is not supported"),
        ("[../common/nested.yaml]\nservices: {}", "nested include"),
        ("../common/db.yaml\nservices: {}", "is a list of files"),
    ],
)
def test_what_include_cannot_take_is_a_located_error(include: str, wanted: str) -> None:
    conv = convert(
        f"include: {include}\n",
        {"common/db.yaml": DB, "common/nested.yaml": "include: [db.yaml]\nservices: {}\n"},
    )
    errors = [p for p in conv.problems if p.severity is Severity.ERROR]
    assert any(wanted in p.message and p.position.line == 1 for p in errors), errors
    assert conv.data is None


def test_validate_reads_the_included_file_as_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("shop/compose.yaml", "include: [../common/db.yaml]\nservices:\n"
               "  web: {image: busybox:1.36}\n")  # fmt: skip
    repo.write("common/db.yaml", DB.replace("    env_file: db.env\n", ""))
    repo.commit("include")
    code = main(["validate", "--repo", str(repo.path), "--rev", "HEAD", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report
    assert not [p for p in report["problems"] if p["path"] == "common/db.yaml"], report
    assert not [p for p in report["problems"] if "include" in p["message"]], report
