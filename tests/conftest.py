"""Shared pytest fixtures.

Docker / registry section: the environment is provisioned by ``make test`` (see
``scripts/ensure-docker.sh``, ``ensure-test-image.sh`` and ``ensure-registry.sh``).
Tests needing it should be marked ``@pytest.mark.docker`` and request ``docker_client``,
``busybox_image`` and/or ``test_registry``. The three-node test swarm
(``scripts/ensure-swarm.sh``) comes from ``swarm``, ``swarm_instance`` and ``node_killer``
(tests/swarmnodes.py); its tests are marked ``@pytest.mark.swarm`` too.

When the engine or registry is unreachable these fixtures skip the requesting tests and a
warning is printed in the terminal summary -- unless ``CI=true``, ``SYNCD_REQUIRE_ALL=1``
(``make test`` sets it) or ``SYNCD_REQUIRE_DOCKER=1``, in which case they fail. Every other
skip of the run is listed in a banner too (see tests/requirements.py).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import os
import secrets
import signal
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, NoReturn

import docker
import docker.errors
import pytest

from tests.daemon_support import RunningDaemon
from tests.engine_support import Deployment
from tests.requirements import docker_required
from tests.swarmnodes import _swarm_turn, node_killer, swarm, swarm_instance  # noqa: F401

# --------------------------------------------------------------------------------------
# Docker engine and private test registry
# --------------------------------------------------------------------------------------

#: Offline image built by scripts/ensure-test-image.sh (Debian busybox-static inside).
TEST_IMAGE = "busybox:1.36"
#: Label put on every container created by tests, so leftovers are easy to find/clean.
TEST_LABELS: dict[str, str] = {"syncd.test": "1"}

_DOCKER_UNAVAILABLE = pytest.StashKey[list[str]]()
_MANIFEST_ACCEPT = ", ".join(
    (
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    )
)


@dataclass(frozen=True)
class TestRegistry:
    """Coordinates of the private, auth-protected registry used by tests."""

    __test__: ClassVar[bool] = False  # not a test class, even when imported into a test module

    host: str = "127.0.0.1:5555"
    username: str = "syncd-test"
    password: str = "syncd-test-pw"
    image: str = "127.0.0.1:5555/private/busybox:1.36"

    @property
    def auth_config(self) -> dict[str, str]:
        """Credentials in the shape expected by docker-py's ``auth_config=``."""
        return {"username": self.username, "password": self.password}

    @classmethod
    def from_env(cls) -> TestRegistry:
        """Defaults, overridable with SYNCD_TEST_REGISTRY{,_USER,_PASSWORD}."""
        host = os.environ.get("SYNCD_TEST_REGISTRY", cls.host)
        return cls(
            host=host,
            username=os.environ.get("SYNCD_TEST_REGISTRY_USER", cls.username),
            password=os.environ.get("SYNCD_TEST_REGISTRY_PASSWORD", cls.password),
            image=f"{host}/private/busybox:1.36",
        )


def _unavailable(config: pytest.Config, reason: str) -> NoReturn:
    """Fail (CI / SYNCD_REQUIRE_DOCKER=1) or skip loudly when the Docker env is missing."""
    hint = "run `make test` or scripts/ensure-docker.sh + ensure-test-image.sh + ensure-registry.sh"
    if docker_required():
        pytest.fail(
            f"{reason} ({hint}); required because CI=true, SYNCD_REQUIRE_ALL=1 or "
            "SYNCD_REQUIRE_DOCKER=1"
        )
    messages = config.stash.setdefault(_DOCKER_UNAVAILABLE, [])
    if reason not in messages:
        messages.append(reason)
    pytest.skip(f"{reason} ({hint})")


@pytest.fixture(autouse=True)
def _fresh_secret_memory() -> None:
    """Each test starts as a fresh process: no secret value remembered by an earlier test
    scrubs this one's output (syncd.taint keeps them process-wide, as a daemon should)."""
    from syncd import taint

    taint.forget_all()


@pytest.fixture(autouse=True)
def _default_log_level() -> None:
    """Each test starts with syncd's default log configuration (level info), as a fresh process
    does: a CLI test that ran `--log-level warning` earlier must not filter out the info events
    a later test captures with `structlog.testing.capture_logs`."""
    from syncd import logs

    logs.configure("info")


@pytest.fixture(scope="session")
def docker_client(request: pytest.FixtureRequest) -> Iterator[docker.DockerClient]:
    """A client for the local Docker engine (``docker.from_env()``), closed at session end."""
    try:
        client = docker.from_env()
        client.ping()
    except (docker.errors.DockerException, OSError) as exc:
        _unavailable(request.config, f"no Docker engine is reachable: {exc}")
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def own_registry(
    docker_client: docker.DockerClient, test_registry: TestRegistry
) -> Iterator[TestRegistry]:
    """The test registry with an image of this test's own: busybox:1.36 pushed under a name no
    other test uses, and absent from the engine. A test that must see it pulled (or refused)
    removes and pulls this one: the shared `test_registry.image`, which the other worker's
    tests may be creating containers from at that moment, is never touched."""
    repository = f"{test_registry.host}/own-{secrets.token_hex(4)}/busybox"
    try:
        push_as(docker_client, test_registry, repository)
        forget_references(docker_client, repository)
        yield dataclasses.replace(test_registry, image=f"{repository}:1.36")
    finally:
        forget_references(docker_client, repository)


def push_as(client: docker.DockerClient, registry: TestRegistry, repository: str) -> None:
    """busybox:1.36 pushed to the test registry as `repository`:1.36 (a name of a test's own)."""
    client.images.get(TEST_IMAGE).tag(repository, "1.36")
    for line in client.api.push(
        repository, "1.36", stream=True, decode=True, auth_config=registry.auth_config
    ):
        assert "error" not in line, line


def forget_references(client: docker.DockerClient, repository: str) -> None:
    """Every tag and digest reference to `repository` on the engine (never an image itself)."""
    for found in client.images.list(name=repository):
        for ref in [*found.tags, *found.attrs.get("RepoDigests", [])]:
            if ref.startswith((f"{repository}:", f"{repository}@")):
                with contextlib.suppress(docker.errors.ImageNotFound):
                    client.images.remove(ref)


@pytest.fixture(scope="session")
def busybox_image(docker_client: docker.DockerClient, request: pytest.FixtureRequest) -> str:
    """Reference of the offline test image, checked to exist in the local engine."""
    try:
        docker_client.images.get(TEST_IMAGE)
    except docker.errors.ImageNotFound:
        _unavailable(request.config, f"test image {TEST_IMAGE} is missing from the Docker engine")
    return TEST_IMAGE


@pytest.fixture(scope="session")
def test_registry(request: pytest.FixtureRequest) -> TestRegistry:
    """The private test registry; verified to require auth and to hold the seeded image."""
    registry = TestRegistry.from_env()
    base = f"http://{registry.host}/v2/"
    try:
        with urllib.request.urlopen(base, timeout=5) as resp:
            _unavailable(
                request.config,
                f"registry {registry.host} answered HTTP {resp.status} on /v2/ without "
                "credentials (expected 401: auth must be enabled)",
            )
    except urllib.error.HTTPError as exc:
        if exc.code != 401:
            _unavailable(
                request.config, f"registry {registry.host} answered HTTP {exc.code} on /v2/"
            )
    except (urllib.error.URLError, OSError) as exc:
        _unavailable(request.config, f"test registry {registry.host} is unreachable: {exc}")

    repo, _, tag = registry.image.removeprefix(f"{registry.host}/").rpartition(":")
    token = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()
    manifest = urllib.request.Request(
        f"{base}{repo}/manifests/{tag}",
        method="HEAD",
        headers={"Authorization": f"Basic {token}", "Accept": _MANIFEST_ACCEPT},
    )
    try:
        with urllib.request.urlopen(manifest, timeout=5):
            pass
    except (urllib.error.URLError, OSError) as exc:
        _unavailable(
            request.config,
            f"registry {registry.host} does not serve {registry.image} to {registry.username}: "
            f"{exc}",
        )
    return registry


def pytest_configure(config: pytest.Config) -> None:
    """Ctrl-C reaches the commands the tests start. A shell without job control (a script's
    `cmd &`) starts a background command with SIGINT ignored, and every process below inherits
    that across exec: a `syncd logs -f` that a test ends with SIGINT, as a user ends it with
    Ctrl-C, would run on. A handler of our own is reset to the default at exec."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    _docker_banner(terminalreporter, config)
    _skip_banner(terminalreporter)


def _skip_banner(terminalreporter: pytest.TerminalReporter) -> None:
    """Every skipped test of the run, by reason: no skip goes unnoticed."""
    reasons: dict[str, list[str]] = {}
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reasons.setdefault(reason.removeprefix("Skipped: "), []).append(report.nodeid)
    if not reasons:
        return
    count = sum(len(ids) for ids in reasons.values())
    terminalreporter.section(f"{count} TESTS WERE SKIPPED", sep="!", red=True, bold=True)
    for reason, ids in sorted(reasons.items()):
        terminalreporter.write_line(f"{len(ids)} skipped: {reason}", yellow=True, bold=True)
        for nodeid in ids[:5]:
            terminalreporter.write_line(f"  - {nodeid}", yellow=True)
        if len(ids) > 5:
            terminalreporter.write_line(f"  - ... and {len(ids) - 5} more", yellow=True)
    terminalreporter.write_line(
        "`make test` (SYNCD_REQUIRE_ALL=1) and CI (CI=true) turn a missing requirement into a "
        "failure.",
        yellow=True,
    )


def _docker_banner(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    messages = config.stash.get(_DOCKER_UNAVAILABLE, [])
    if not messages:
        return
    terminalreporter.section("DOCKER TESTS WERE SKIPPED", sep="!", red=True, bold=True)
    terminalreporter.write_line(
        "Docker tests were skipped because no Docker engine (or test registry) is reachable:",
        yellow=True,
        bold=True,
    )
    for message in messages:
        terminalreporter.write_line(f"  - {message}", yellow=True)
    terminalreporter.write_line(
        "Run `make test` (starts dockerd + registry) or set CI=true / SYNCD_REQUIRE_ALL=1 / "
        "SYNCD_REQUIRE_DOCKER=1 to turn this into a failure.",
        yellow=True,
    )


@pytest.fixture
def deployment(
    tmp_path: Path, docker_client: docker.DockerClient, busybox_image: str
) -> Iterator[Deployment]:
    """A syncd instance of its own on the real engine; everything it made is removed after."""
    deployed = Deployment(tmp_path, docker_client)
    try:
        yield deployed
    finally:
        deployed.cleanup()


@pytest.fixture
def daemons() -> Iterator[list[RunningDaemon]]:
    """Daemons a test starts (`RunningDaemon`), each closed after it."""
    started: list[RunningDaemon] = []
    yield started
    for daemon in started:
        daemon.close()
