"""`extends` in Compose files (`syncd.manifests.compose.extends`): Compose's merge rules, files
of the same revision only, cycles and bounds as located errors, inherited values located and
tainted like the service's own, and the CLI over a real git repository."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from syncd.cli.main import main
from syncd.manifests.compose.reader import Conversion, compose_to_stack
from syncd.manifests.yamlsafe import Schema, load
from syncd.problems import Severity
from syncd.settings import Limits
from tests.gitrepo import GitRepo

SECRET = "Extends-s3cret-9q"


def convert(
    text: str,
    files: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    limits: Limits | None = None,
) -> Conversion:
    path = "shop/compose.yaml"
    revision = {path: text.encode(), **{k: v.encode() for k, v in (files or {}).items()}}
    documents, problems = load(path, revision[path], schema=Schema.COMPOSE)
    assert not problems, problems
    if limits is None:
        return compose_to_stack(documents[0], env or {}, revision)
    return compose_to_stack(documents[0], env or {}, revision, limits=limits)


def services(conv: Conversion) -> dict[str, Any]:
    assert conv.data is not None, [str(p) for p in conv.problems]
    found: dict[str, Any] = conv.data["services"]
    return found


def errors(conv: Conversion) -> list[str]:
    return [f"{p.pointer}: {p.message}" for p in conv.problems if p.severity is Severity.ERROR]


def test_merge_rules_of_the_compose_specification() -> None:
    base = (
        "services:\n"
        "  base:\n"
        "    image: busybox:1.36\n"
        "    command: sleep 60\n"
        "    environment: [A=1, B=2]\n"
        "    volumes: ['data:/data', 'cache:/cache']\n"
        "    ports: ['8080:80', '9090:90']\n"
        "    healthcheck: {test: [CMD, 'true'], interval: 15s}\n"
        "    depends_on: [db]\n"
    )
    conv = convert(
        "services:\n"
        "  db: {image: busybox:1.36, environment: {X: '1'}}\n"
        "  web:\n"
        "    extends: {file: base.yml, service: base}\n"
        "    command: [sleep, '7']\n"
        "    environment: {B: three, C: '4'}\n"
        "    volumes: ['other:/data']\n"
        "    ports: ['8080:80', '7070:70']\n"
        "    healthcheck: {test: [CMD, 'false']}\n"
        "    depends_on: {cache: {condition: service_started}}\n"
        "  cache: {image: busybox:1.36}\n"
        "  local: {extends: db, environment: [D=5]}\n"
        "volumes: {data: {}, cache: {}, other: {}}\n",
        {"shop/base.yml": base},
    )
    web = services(conv)["web"]
    assert web["image"] == "busybox:1.36"
    assert web["command"] == ["sleep", "7"]  # replaced, not appended
    assert web["environment"] == {"A": "1", "B": "three", "C": "4"}  # by name, own wins
    assert web["volumes"] == ["other:/data", "cache:/cache"]  # unique by target
    assert web["ports"] == ["8080:80/tcp", "9090:90/tcp", "7070:70/tcp"]  # not repeated
    assert web["healthcheck"]["test"] == ["CMD", "false"]  # test replaced ...
    assert web["healthcheck"]["interval"] == "15s"  # ... the rest merged
    assert web["dependsOn"] == {"db": "service_started", "cache": "service_started"}
    assert "extends" not in web
    assert services(conv)["local"]["environment"] == {"D": "5", "X": "1"}
    assert "base" not in services(conv)  # a service of another file is not deployed


def test_a_chain_across_files_rebases_relative_paths(tmp_path: Path) -> None:
    files = {
        "common/base.yml": (
            "services:\n"
            "  root: {image: busybox:1.36, environment: {LEVEL: root, ROOT: 'yes'}}\n"
            "  app:\n"
            "    extends: root\n"
            "    env_file: app.env\n"
            "    environment: {LEVEL: app}\n"
        ),
        "common/app.env": "FROM_FILE=1\n",
    }
    conv = convert(
        "services:\n  web:\n    extends: {file: ../common/base.yml, service: app}\n", files
    )
    web = services(conv)["web"]
    assert web["environment"] == {"FROM_FILE": "1", "LEVEL": "app", "ROOT": "yes"}


@pytest.mark.parametrize(
    ("value", "wanted"),
    [
        ("{file: ../../etc/compose.yaml, service: x}", "/services/web/extends/file: "),
        ("{file: /etc/compose.yaml, service: x}", "/services/web/extends/file: "),
        ("{file: 'https://example.com/c.yaml', service: x}", "/services/web/extends/file: "),
        ("{file: missing.yml, service: x}", "is not in the revision"),
        ("{file: notes.yml, service: x}", "is not a Compose file"),
        ("{file: other.yml, service: nope}", "names service 'nope'"),
        ("nobody", "names service 'nobody'"),
        ("{service: x, fille: other.yml}", "unknown key 'fille'"),
        ("{file: other.yml}", "needs 'service'"),
        ("[a, b]", "is a service name or {service, file}"),
        ("'${BASE}'", "takes no variables"),
    ],
)
def test_what_extends_cannot_name_is_a_located_error(value: str, wanted: str) -> None:
    conv = convert(
        f"services:\n  web:\n    extends: {value}\n",
        {"shop/other.yml": "services:\n  x: {image: busybox:1.36}\n", "shop/notes.yml": "- a\n"},
    )
    assert conv.data is None
    found = [p for p in conv.problems if p.severity is Severity.ERROR]
    assert any(wanted in f"{p.pointer}: {p.message}" for p in found), found
    assert all(p.position.line == 3 for p in found), found


def test_cycles_and_long_chains_are_located_errors() -> None:
    conv = convert(
        "services:\n"
        "  a: {extends: b}\n"
        "  b: {extends: {service: a, file: compose.yaml}}\n"
        "  ok: {image: busybox:1.36}\n"
    )
    assert any("extends cycle: " in e for e in errors(conv)), errors(conv)
    chain = "".join(f"  s{i}: {{extends: s{i + 1}}}\n" for i in range(20))
    deep = convert(f"services:\n{chain}  s20: {{image: busybox:1.36}}\n")
    assert any("more than 10 services" in e for e in errors(deep)), errors(deep)


def test_many_services_extending_a_wide_base_are_bounded() -> None:
    base = "".join(f"      - A{i}=1\n" for i in range(200))
    users = "".join(f"  u{i}: {{extends: base}}\n" for i in range(50))
    text = f"services:\n  base:\n    image: busybox:1.36\n    environment:\n{base}{users}"
    conv = convert(text, limits=Limits(max_nodes=5000))
    assert any("extends makes more than 5000 values" in e for e in errors(conv)), errors(conv)
    assert convert(text).data is not None  # the default bound lets a real file through


def test_inherited_values_are_located_at_the_extends_and_tainted() -> None:
    files = {"shop/base.yml": "services:\n  b:\n    image: busybox:1.36\n    ports: ['x:y:z:w']\n"}
    bad = convert("services:\n  web:\n    extends: {file: base.yml, service: b}\n", files)
    [error] = [p for p in bad.problems if p.severity is Severity.ERROR]
    assert (error.path, error.position.line, error.pointer) == (
        "shop/compose.yaml",
        3,
        "/services/web/ports/0",
    )
    files = {
        "shop/base.yml": "services:\n  b:\n    image: busybox:1.36\n    command: [x, $TOKEN]\n"
    }
    conv = convert(
        "services:\n  web:\n    extends: {file: base.yml, service: b}\n",
        files,
        env={"TOKEN": SECRET},
    )
    assert services(conv)["web"]["command"] == ["x", SECRET]
    assert ("services", "web", "command") in conv.secrets
    assert SECRET in conv.secret_values


def test_validate_and_plan_a_repo_using_extends(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write(
        "shop/compose.yaml",
        "services:\n"
        "  web:\n"
        "    extends: {file: common/base.yml, service: base}\n"
        "    command: [httpd, -f]\n",
    )
    repo.write("shop/common/base.yml", "services:\n  base: {image: busybox:1.36}\n")
    repo.commit("base")
    assert main(["validate", "--repo", str(repo.path), "--rev", "HEAD", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is True, report
    data = tmp_path / "data"
    repo.write("shop/common/base.yml", "services:\n  base: {image: busybox:1.37}\n")
    repo.commit("a new base image")
    code = main(
        ["plan", "--repo", str(repo.path), "--base", "HEAD~1", "--head", "HEAD",
         "--data-dir", str(data), "--format", "json"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 2, out
    assert "busybox:1.37" in out and "shop/default/web" in out.replace('"', "")


def test_a_shared_file_read_by_extends_is_data_not_a_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Mapping decision D19b: `common.yml` beside (not in) the Compose folders has no `kind`."""
    repo = GitRepo(tmp_path / "repo")
    repo.write("common.yml", "services:\n  base: {image: busybox:1.36, command: [sleep, '9']}\n")
    for name in ("shop", "blog"):
        repo.write(
            f"{name}/compose.yaml",
            f"services:\n  {name}-web:\n    extends: {{file: ../common.yml, service: base}}\n",
        )
    repo.write("notes.yml", "services:\n  stray: {image: busybox:1.36}\n")  # read by no one
    repo.commit("shared base")
    assert main(["validate", "--repo", str(repo.path), "--rev", "HEAD", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [p["path"] for p in report["problems"] if p["severity"] == "error"] == ["notes.yml"]
