"""`--check-images` against the real engine and the private test registry (htpasswd): an image
pushed there under a test-unique name resolves with the manifests' registry credentials; a
missing tag is an error at the manifest line; credentials never go to another host."""

from __future__ import annotations

import json
import secrets
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import docker
import docker.errors
import pytest

from syncd.apply.imagecheck import check_images
from syncd.cli.main import main
from syncd.core.desired import resolve
from syncd.core.plan import plan
from syncd.manifests import read_manifests
from syncd.source.reader import read_directory
from tests.conftest import TestRegistry, forget_references, push_as
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo
from tests.registry_support import Seen, recording_registry

pytestmark = pytest.mark.docker

STACK = """\
kind: Stack
project: img
services:
  app:
    image: {image}
    command: [sleep, "3600"]
---
kind: Registry
project: img
name: test
uri: {host}
credentials:
  username: {user}
  password: {{env: REGISTRY_PASSWORD}}
"""


@pytest.fixture
def pushed(docker_client: docker.DockerClient, test_registry: TestRegistry) -> Iterator[str]:
    """busybox:1.36 pushed to the private registry under a name of this test's own."""
    repository = f"{test_registry.host}/check-{secrets.token_hex(4)}/busybox"
    try:
        push_as(docker_client, test_registry, repository)
        yield repository
    finally:  # every reference to the test's repository, never an image itself
        forget_references(docker_client, repository)


def _repo(
    deployment: Deployment, tmp_path: Path, registry: TestRegistry, image: str
) -> tuple[GitRepo, list[str]]:
    env_file = tmp_path / "operator.env"
    env_file.write_text(f"REGISTRY_PASSWORD={registry.password}\n")
    repo = GitRepo(deployment.repo)
    text = STACK.format(image=image, host=registry.host, user=registry.username)
    repo.write("img.yaml", text)
    args = deployment.cli_args(repo.path, "--env-file", str(env_file))
    return repo, args


def test_check_images_passes_on_a_pushed_tag_and_fails_on_a_missing_one(
    deployment: Deployment,
    tmp_path: Path,
    test_registry: TestRegistry,
    pushed: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo, args = _repo(deployment, tmp_path, test_registry, f"{pushed}:1.36")
    good = repo.commit("exists")
    assert main(["plan", *args, "--head", good, "--check-images"]) == 2
    # nothing but, while other tests' instances run beside this fresh one, the warning for it
    said = capsys.readouterr().err.splitlines()
    assert [line for line in said if "has never been applied on this host" not in line] == []
    unchecked = tmp_path / "unchecked.json"  # saved without the check, checked at apply
    assert main(["plan", *args, "--head", good, "--out", str(unchecked)]) == 2
    assert main(["apply", *args, "--plan", str(unchecked), "--check-images", "--dry-run"]) == 0
    capsys.readouterr()

    repo.write("img.yaml", (repo.path / "img.yaml").read_text().replace(":1.36", ":nope"))
    bad = repo.commit("missing tag")
    for command in (
        ["plan", *args, "--head", bad, "--check-images"],  # against what runs
        ["plan", *args, "--base", good, "--head", bad, "--check-images"],  # revision to revision
        ["apply", *args, "--rev", bad, "--check-images"],
    ):
        assert main(command) == 1, command
        err = capsys.readouterr().err
        expected = (
            f"img.yaml:5:12: /services/app/image: image {pushed}:nope from registry img/test "
            "cannot be resolved at its registry:"
        )
        assert expected in err, err
        assert test_registry.password not in err
    assert deployment.containers() == []  # the apply was refused before anything ran

    # without --check-images the missing tag plans as before
    assert main(["plan", *args, "--head", bad]) == 2
    capsys.readouterr()


def test_check_images_without_credentials_is_refused_by_the_private_registry(
    deployment: Deployment,
    tmp_path: Path,
    test_registry: TestRegistry,
    pushed: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The check really asks the registry (with the manifests' credentials only): without a
    Registry document the private image does not resolve, whatever syncd's user has."""
    repo, args = _repo(deployment, tmp_path, test_registry, f"{pushed}:1.36")
    text = (repo.path / "img.yaml").read_text().split("---")[0]
    repo.write("img.yaml", text)
    rev = repo.commit("no registry")
    assert main(["plan", *args, "--head", rev, "--check-images"]) == 1
    assert "img.yaml:5:12: /services/app/image: image " in capsys.readouterr().err


def test_credentials_never_go_to_another_host(
    deployment: Deployment, tmp_path: Path, test_registry: TestRegistry
) -> None:
    """The project's registry is the private one; an image on another host (here a recorder
    on 127.0.0.1) is asked for without its credentials."""
    with recording_registry() as (attacker, seen):
        _repo(deployment, tmp_path, test_registry, f"{attacker}/app:1")
        snap = read_directory(str(deployment.repo), [])
        env = {"REGISTRY_PASSWORD": test_registry.password}
        manifests = read_manifests(snap.files, env)
        desired = resolve(manifests, None)
        result = plan(
            desired, deployment.reconciler.observe(deployment.engine.observe(), None).live
        )
        problems = check_images(
            deployment.engine,
            result,
            registries=desired.registries,
            manifests=manifests,
            env=env,
            settings=deployment.settings,
        ).problems
        assert len(problems) == 1 and "/services/app/image" in str(problems[0])
        assert seen.requests  # the engine did ask that host
        assert seen.authorizations == []
        assert all(test_registry.password not in str(r) for r in seen.requests)
        assert test_registry.password not in str(problems[0])


@pytest.fixture
def silent_registry() -> Iterator[str]:
    """A registry host that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


def test_an_image_whose_registry_never_answers_is_an_error_within_the_timeout(
    deployment: Deployment, tmp_path: Path, test_registry: TestRegistry, silent_registry: str
) -> None:
    deployment.write("img.yaml", f"""\
        kind: Stack
        project: img
        services:
          app: {{image: "{silent_registry}/app:1"}}
        """)  # fmt: skip
    snap = read_directory(str(deployment.repo), [])
    manifests = read_manifests(snap.files, {})
    desired = resolve(manifests, None)
    result = plan(desired, deployment.reconciler.observe(deployment.engine.observe(), None).live)
    problems = check_images(
        deployment.engine,
        result,
        registries=desired.registries,
        manifests=manifests,
        env={},
        settings=deployment.settings,
        timeout=2,
    ).problems
    [problem] = problems
    assert "img.yaml:4:" in str(problem) and "no answer from the engine within 2 s" in str(problem)


@pytest.fixture
def redirecting_registry() -> Iterator[tuple[str, Seen]]:
    """A registry asking for Basic credentials that, once given them, redirects every manifest
    request to a recorder on another port: what the recorder sees is what a redirect leaks."""
    with recording_registry() as (recorder, seen):

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if "Authorization" not in self.headers:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="redirector"')
                elif self.path == "/v2/":
                    self.send_response(200)
                else:
                    self.send_response(307)
                    self.send_header("Location", f"http://{recorder}{self.path}")
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_HEAD = do_GET

            def log_message(self, format: str, *args: object) -> None:
                del format, args

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"127.0.0.1:{server.server_address[1]}", seen
        finally:
            server.shutdown()
            server.server_close()


def test_credentials_do_not_follow_a_redirect_to_another_host(
    deployment: Deployment,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    redirecting_registry: tuple[str, Seen],
) -> None:
    host, seen = redirecting_registry
    registry = TestRegistry(host=host, username="deploy", password="pw-for-the-redirector-only")
    _repo_, args = _repo(deployment, tmp_path, registry, f"{host}/team/app:1")
    rev = _repo_.commit("redirected")
    assert main(["plan", *args, "--head", rev, "--check-images"]) == 1
    err = capsys.readouterr().err
    assert f"img.yaml:5:12: /services/app/image: image {host}/team/app:1" in err
    assert seen.requests  # the engine followed the redirect
    assert seen.authorizations == []
    assert registry.password not in err


def test_a_saved_plan_is_stale_when_its_checked_tag_was_pushed_again(
    deployment: Deployment,
    tmp_path: Path,
    test_registry: TestRegistry,
    pushed: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`plan --check-images --out` keeps the digest each image resolved to; `apply --plan`
    resolves them again and refuses when a tag now names another image."""
    repo, args = _repo(deployment, tmp_path, test_registry, f"{pushed}:1.36")
    rev = repo.commit("pushed")
    first = tmp_path / "first.json"
    assert main(["plan", *args, "--head", rev, "--check-images", "--out", str(first)]) == 2
    [digest] = json.loads(first.read_text())["images"].values()
    assert digest.startswith("sha256:")

    client = deployment.client
    helper = client.containers.create("busybox:1.36", ["true"])
    try:
        other = helper.commit(pushed, "1.36", changes=["LABEL syncd-test=pushed-again"])
        for line in client.api.push(
            pushed, "1.36", stream=True, decode=True, auth_config=test_registry.auth_config
        ):
            assert "error" not in line, line
    finally:
        helper.remove(force=True)
    # the local tag as it was (the engine's image unchanged): only the registry's moved
    client.images.get("busybox:1.36").tag(pushed, "1.36")
    client.images.remove(other.id)
    capsys.readouterr()
    assert main(["apply", *args, "--plan", str(first)]) == 1
    err = capsys.readouterr().err
    assert (
        "stale plan: an image resolves to another digest than when planned: service img/default/app"
    ) in err
    assert deployment.containers() == []

    second = tmp_path / "second.json"
    assert main(["plan", *args, "--head", rev, "--check-images", "--out", str(second)]) == 2
    assert json.loads(second.read_text())["images"] != {"img/default/app": digest}
    assert main(["apply", *args, "--plan", str(second)]) == 0
    assert deployment.container("app").status == "running"
    assert test_registry.password not in capsys.readouterr().err
