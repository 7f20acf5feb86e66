"""Service and volume names keep Compose's alphabet (mapping decision D21): letters of either case,
digits, `_`, `.` and `-`, in Compose files and native stacks alike; project and stack names stay
DNS labels (D6). A name like `my_app.web` validates, plans, names its container and volume,
is its DNS alias and labels on the real engine, and is what the API shows; names equal but for
case are refused (one DNS name)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from syncd.cli.main import main
from syncd.ids import ServiceKey, StackKey, VolumeKey, project_id
from syncd.manifests import read_manifests
from syncd.manifests.compose.files import ComposeRead, read_compose
from tests.daemon_support import RunningDaemon, wait_for
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo

COMPOSE = """\
x-syncd: {project: names}
services:
  my_app.web:
    image: busybox:1.36
    command: [sleep, "3600"]
    volumes: ["app_data.v1:/data"]
  Client_2:
    image: busybox:1.36
    command: [sleep, "3600"]
    depends_on: [my_app.web]
volumes:
  app_data.v1: {}
"""

NATIVE = """\
kind: Stack
project: native
services:
  my_app.web:
    image: busybox:1.36
    volumes: ["app_data.v1:/data"]
  Client_2:
    image: busybox:1.36
    dependsOn: [my_app.web]
volumes:
  app_data.v1: {}
"""


class _File:
    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.data = text.encode()


def _compose(text: str) -> ComposeRead:
    return read_compose("names/compose.yaml", text.encode(), {}, {})


def test_compose_and_native_stacks_take_underscores_dots_and_case() -> None:
    compose = _compose(COMPOSE)
    assert [str(p) for p in compose.problems] == []
    assert compose.stack is not None
    assert set(compose.stack.manifest.services) == {"my_app.web", "Client_2"}
    assert set(compose.stack.manifest.volumes) == {"app_data.v1"}
    native = read_manifests([_File("native.yaml", NATIVE)], {})
    assert [str(p) for p in native.problems] == []
    [stack] = native.stacks
    assert stack.manifest.services["Client_2"].depends_on == {"my_app.web": "service_started"}


@pytest.mark.parametrize(
    "name", ["-web", "_web", ".web", "web/x", "web:1", "wéb", "a" * 64, "web\n"]
)
def test_names_outside_the_alphabet_are_located_errors(name: str) -> None:
    text = f"kind: Stack\nproject: shop\nservices:\n  {json.dumps(name)}: {{image: busybox:1.36}}\n"
    found = read_manifests([_File("shop.yaml", text)], {})
    assert [(p.position.line, p.pointer.startswith("/services/")) for p in found.errors] == [
        (4, True)
    ], found.errors


def test_projects_and_stacks_stay_dns_labels() -> None:
    text = "kind: Stack\nproject: my_shop\nname: Blue.1\nservices: {}\n"
    found = read_manifests([_File("shop.yaml", text)], {})
    assert sorted(p.pointer for p in found.errors) == ["/name", "/project"]


def test_names_equal_but_for_case_are_one_dns_name() -> None:
    one = "kind: Stack\nproject: shop\nservices:\n  Web: {image: busybox:1.36}\n"
    both = one + "  web: {image: busybox:1.36}\n"
    found = read_manifests([_File("shop.yaml", both)], {})
    assert ["differ only in case" in p.message for p in found.errors] == [True]
    other = "kind: Stack\nproject: shop\nname: two\nservices:\n  WEB: {image: busybox:1.36}\n"
    found = read_manifests([_File("a.yaml", one), _File("b.yaml", other)], {})
    assert ["also declared by stack shop/default" in p.message for p in found.errors] == [True]
    compose = _compose("services:\n  Web: {image: busybox:1.36}\n  web: {image: busybox:1.36}\n")
    assert any("differ only in case" in str(p) for p in compose.problems)


def test_plan_shows_such_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("README.md", "empty\n")
    repo.commit("empty")
    repo.write("names/compose.yaml", COMPOSE)
    repo.commit("names")
    code = main(
        ["plan", "--repo", str(repo.path), "--base", "HEAD~1", "--head", "HEAD",
         "--data-dir", str(tmp_path / "data")]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 2, out
    assert "names/default/my_app.web" in out and "names/default/Client_2" in out


@pytest.mark.docker
def test_engine_names_aliases_labels_and_the_api(deployment: Deployment) -> None:
    repo = GitRepo(deployment.repo)
    repo.write("names/compose.yaml", COMPOSE)
    repo.commit("names")
    daemon = RunningDaemon(str(repo.path), deployment.settings.data_dir, deployment.instance)
    try:
        daemon.started()
        wait_for(lambda: daemon.status()["appliedRevision"], 60, "the first sync")
        web = deployment.container("my_app.web")
        prefix = f"{deployment.instance}_"
        assert web.name == f"{prefix}names_default_my_app.web"
        assert web.labels["syncd.project"] == "names"
        networks = web.attrs["NetworkSettings"]["Networks"]
        [aliases] = [n["Aliases"] for n in networks.values()]
        assert "my_app.web" in aliases
        code, out = deployment.exec("Client_2", "nslookup", "my_app.web")
        assert code == 0 and web.attrs["NetworkSettings"]["Networks"], out
        ip = next(iter(networks.values()))["IPAddress"]
        assert ip in out, out
        # a name outside the DNS alphabet gets an engine name that cannot collide (files group)
        [volume] = deployment.client.volumes.list(
            filters={"label": ["syncd.volume=app_data.v1", "syncd.project=names"]}
        )
        assert volume.name.startswith(f"{prefix}names_default_app-data-v1-"), volume.name
        services = daemon.http.get(f"/v2/projects/{project_id('names')}/services").json()
        shown = {s["serviceName"]: s["id"] for s in services}
        key = ServiceKey("names", "default", "my_app.web")
        assert shown["my_app.web"] == key.id
        stack_id = StackKey("names", "default").id
        answer = daemon.http.get(f"/v2/stacks/{stack_id}/services/{key.id}").json()
        assert answer["serviceName"] == "my_app.web"
        volumes = daemon.http.get(f"/v2/projects/{project_id('names')}/volumes").json()
        assert {v["name"]: v["id"] for v in volumes}["app_data.v1"] == (
            VolumeKey("names", "default", "app_data.v1").id
        )
    finally:
        daemon.close()
