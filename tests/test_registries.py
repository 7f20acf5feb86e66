"""Registry credentials go only to the registry's own host and port: `auth_for` (every pull's
`auth_config`) and the engine boundary (`check_pull_auth`, `check_login_auth`) refuse any other
host, and the refusal happens before the password is read or anything is sent."""

from __future__ import annotations

import contextlib
from pathlib import Path

import docker
import docker.errors
import pytest

from syncd.apply.registries import auth_for, registry_for
from syncd.core.desired import DesiredRegistry
from syncd.engine.base import check_login_auth, check_pull_auth
from syncd.engine.docker import API_VERSION, DockerEngine
from syncd.errors import CredentialsError, CredentialsHostMismatch, EngineError
from syncd.ids import RegistryKey
from syncd.manifests.images import image_registry_address, image_registry_host, registry_address
from tests.conftest import TestRegistry
from tests.registry_support import recording_registry

ENV = {"PW": "registry-password-1"}
NO_SECRETS = Path("/nonexistent/secrets")  # passwords here come from variables


def registry(uri: str, *, username: str | None = "deploy", name: str = "team") -> DesiredRegistry:
    return DesiredRegistry(
        key=RegistryKey("shop", name),
        uri=uri,
        description="",
        username=username,
        password_ref="env:PW" if username else None,
    )


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("Registry.Example.COM", "registry.example.com"),
        ("registry.example.com:443", "registry.example.com"),
        ("registry.example.com:5000", "registry.example.com:5000"),
        ("registry.example.com:4430", "registry.example.com:4430"),
        ("INDEX.docker.io", "docker.io"),
        ("registry-1.docker.io:443", "docker.io"),
        ("127.0.0.1:5555", "127.0.0.1:5555"),
    ],
)
def test_registry_address(host: str, address: str) -> None:
    assert registry_address(host) == address


@pytest.mark.parametrize(
    ("image", "address"),
    [
        ("nginx:1.27", "docker.io"),
        ("library/nginx", "docker.io"),
        ("docker.io/library/nginx:1", "docker.io"),
        ("Evil/app:1", "evil"),  # Docker's rule: an upper-case first component is a host
        ("registry.example.com.evil.net/team/app:1", "registry.example.com.evil.net"),
        ("REGISTRY.example.com:443/team/app:1", "registry.example.com"),
        ("localhost:5000/app", "localhost:5000"),
    ],
)
def test_image_registry_address(image: str, address: str) -> None:
    assert image_registry_address(image) == address


def test_an_upper_case_first_component_names_a_host_as_for_docker() -> None:
    assert image_registry_host("Evil/app:1") == "evil"
    assert image_registry_host("evil/app:1") is None


@pytest.mark.parametrize(
    ("uri", "image"),
    [
        ("registry.example.com", "registry.example.com/team/app:1"),
        ("Registry.Example.com", "registry.example.COM/team/app:1"),
        ("registry.example.com:443", "registry.example.com/team/app:1"),
        ("registry.example.com", "registry.example.com:443/team/app:1"),
        ("127.0.0.1:5555", "127.0.0.1:5555/private/busybox:1.36"),
        ("docker.io", "nginx:1.27"),
        ("index.docker.io", "library/nginx:1.27"),
        ("docker.io", "registry-1.docker.io/team/app:1"),
    ],
)
def test_credentials_go_to_the_registrys_own_host(uri: str, image: str) -> None:
    auth = auth_for(registry(uri), image, ENV, NO_SECRETS)
    assert auth == {"username": "deploy", "password": ENV["PW"], "serveraddress": uri}
    check_pull_auth(image, auth)  # the engine agrees


@pytest.mark.parametrize(
    ("uri", "image", "target"),
    [
        ("127.0.0.1:5555", "127.0.0.1:40123/x:1", "127.0.0.1:40123"),
        ("registry.example.com", "registry.example.com.evil.net/team/app:1", None),
        ("registry.example.com", "registry.example.com:5000/team/app:1", None),
        ("registry.example.com:5000", "registry.example.com/team/app:1", None),
        ("registry.example.com", "evil.example.com/team/app:1", None),
        ("registry.example.com", "nginx:1.27", "docker.io"),
        ("registry.example.com", "registry/app:1", "docker.io"),
        ("docker.io", "Evil/app:1", "evil"),
        ("localhost:5000", "127.0.0.1:5000/app:1", None),
    ],
)
def test_credentials_never_go_to_another_host(uri: str, image: str, target: str | None) -> None:
    target = target or image.partition("/")[0].lower()
    with pytest.raises(CredentialsHostMismatch) as refused:
        auth_for(registry(uri), image, {}, NO_SECRETS)  # before reading the password (unset here)
    assert uri in str(refused.value) and target in str(refused.value)
    assert "nothing was sent" in str(refused.value)
    built = {"username": "deploy", "password": ENV["PW"], "serveraddress": uri}
    with pytest.raises(CredentialsHostMismatch):
        check_pull_auth(image, built)


def test_anonymous_registries_and_unknown_hosts_send_nothing() -> None:
    assert auth_for(None, "evil.example.com/x:1", ENV, NO_SECRETS) is None
    assert (
        auth_for(registry("registry.example.com", username=None), "nginx:1", ENV, NO_SECRETS)
        is None
    )
    check_pull_auth("evil.example.com/x:1", None)
    with pytest.raises(CredentialsError):  # a matching host still needs a readable password
        auth_for(registry("registry.example.com"), "registry.example.com/x:1", {}, NO_SECRETS)
    with pytest.raises(CredentialsHostMismatch):  # an auth_config without its server
        check_pull_auth("registry.example.com/x:1", {"username": "u", "password": "p"})


def test_registry_for_matches_host_and_port_exactly() -> None:
    team = registry("registry.example.com:443")
    hub = registry("docker.io", name="hub")
    registries = {team.key: team, hub.key: hub}
    assert registry_for("registry.example.com/app:1", "shop", registries) == team
    assert registry_for("nginx:1", "shop", registries) == hub
    assert registry_for("Evil/app:1", "shop", registries) is None
    assert registry_for("registry.example.com.evil.net/app:1", "shop", registries) is None
    assert registry_for("registry.example.com:5000/app:1", "shop", registries) is None
    assert registry_for("registry.example.com/app:1", "other", registries) is None


@pytest.mark.parametrize(
    "server", ["https://registry.example.com/v1/", "registry.example.com/path", "", "a b"]
)
def test_a_login_goes_only_to_a_bare_registry_host(server: str) -> None:
    with pytest.raises(EngineError, match="refusing to log in"):
        check_login_auth({"username": "u", "password": "p", "serveraddress": server})
    check_login_auth({"username": "u", "password": "p", "serveraddress": "registry.example.com"})


@pytest.mark.docker
def test_the_engine_sends_no_credentials_to_another_host(
    docker_client: docker.DockerClient,
) -> None:
    """Whoever builds an `auth_config`, `DockerEngine.pull` refuses it for another host: the
    attacker's registry sees no connection at all. The anonymous pull after it proves the
    registry is reachable from Docker, so the first assertion cannot pass by accident."""
    del docker_client  # only for the skip/fail when Docker is missing
    engine = DockerEngine("creds-test", client=docker.APIClient(version=API_VERSION))
    try:
        with recording_registry() as (host, seen):
            auth = {"username": "deploy", "password": ENV["PW"], "serveraddress": "127.0.0.1:5555"}
            with pytest.raises(CredentialsHostMismatch):
                engine.pull(f"{host}/private/busybox:1.36", auth)
            assert seen.connections == 0 and seen.requests == []
            with pytest.raises(EngineError):
                engine.pull(f"{host}/private/busybox:1.36")
            assert seen.requests and seen.authorizations == []
    finally:
        engine.close()


@pytest.mark.docker
def test_a_login_checks_the_password_and_keeps_nothing(
    docker_client: docker.DockerClient, own_registry: TestRegistry
) -> None:
    engine = DockerEngine("creds-test", client=docker.APIClient(version=API_VERSION))
    try:
        auth = {**own_registry.auth_config, "serveraddress": own_registry.host}
        assert engine.login({**auth, "password": "wrong"})[0] is False
        assert engine.login(auth)[0] is True
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client.images.remove(own_registry.image)
        with pytest.raises(EngineError):  # the login left no password behind for other pulls
            engine.pull(own_registry.image)
        engine.pull(own_registry.image, auth)
    finally:
        engine.close()
