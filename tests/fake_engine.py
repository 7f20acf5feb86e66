"""An in-memory engine at syncd's own seam (`syncd.engine.base.Engine`), for tests of the
reconciler's logic without Docker: it keeps containers, volumes, networks and images as values,
answers `observe` from them exactly as an adapter must (labels -> keys and hashes), and records
every write. Failures are planted per service (`fail_start`) or per image (`fail_pull`).

The real adapter is tested on a real Docker engine (tests/test_engine.py); this fake only stands
in where the point is the order and consequences of syncd's own decisions.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from syncd.engine.base import (
    LABEL_HASH,
    LABEL_REVISION,
    ContainerRequest,
    ContainerState,
    Engine,
    Health,
    Names,
    Observed,
    ObservedContainer,
    ObservedVolume,
    check_login_auth,
    check_pull_auth,
    normalize_reference,
)
from syncd.errors import EngineError
from syncd.ids import ServiceKey, VolumeKey


@dataclass
class FakeContainer:
    id: str
    request: ContainerRequest
    image_id: str
    created: float
    state: ContainerState = ContainerState.CREATED
    name: str | None = None  # after a rename (set aside); None: the service's own name


def image_id_of(reference: str, version: int = 0) -> str:
    return "sha256:" + hashlib.sha256(f"{reference}#{version}".encode()).hexdigest()


@dataclass
class FakeEngine(Engine):
    instance: str = "fake"
    images: dict[str, str] = field(default_factory=dict)  # normalized reference -> image id
    registry: dict[str, str] = field(default_factory=dict)  # what a pull would fetch
    fail_start: set[str] = field(default_factory=set)  # service names whose start fails
    fail_pull: set[str] = field(default_factory=set)  # references whose pull fails
    containers: dict[str, FakeContainer] = field(default_factory=dict)
    volumes: set[VolumeKey] = field(default_factory=set)
    networks: set[str] = field(default_factory=set)
    calls: list[tuple[str, str]] = field(default_factory=list)  # (operation, subject), in order
    platforms: list[str | None] = field(default_factory=list)  # the platform of each pull
    _ids: Iterator[int] = field(default_factory=itertools.count)

    # -- helpers for tests ---------------------------------------------------------------------
    def have(self, *references: str) -> FakeEngine:
        """Images already present locally."""
        for ref in references:
            self.images[normalize_reference(ref)] = image_id_of(ref)
        return self

    def of(self, key: ServiceKey) -> list[FakeContainer]:
        return [c for c in self.containers.values() if c.request.key == key]

    def the(self, key: ServiceKey) -> FakeContainer:
        found = self.of(key)
        assert len(found) == 1, f"{len(found)} containers for {key}"
        return found[0]

    def did(self, operation: str) -> list[str]:
        return [subject for op, subject in self.calls if op == operation]

    def _name(self, container_id: str) -> str:
        return str(self.containers[container_id].request.key)

    # -- reading -------------------------------------------------------------------------------
    def observe(self) -> Observed:
        names = Names(self.instance)
        containers = tuple(
            ObservedContainer(
                id=c.id,
                name=c.name or names.container(c.request.key, c.request.replica),
                key=c.request.key,
                hash=c.request.labels[LABEL_HASH],
                revision=c.request.labels.get(LABEL_REVISION),
                image_id=c.image_id,
                state=c.state,
                health=None,
                created=c.created,
                published=tuple(  # as Docker binds them: an ephemeral port gets one picked
                    f"{p.host_ip or '127.0.0.1'}:{p.public or 49152 + n}"
                    f"->{p.container}/{p.protocol}"
                    for n, p in enumerate(c.request.ports)
                    if p.public is not None or p.ephemeral
                ),
            )
            for c in self.containers.values()
        )
        volumes = tuple(ObservedVolume(k, names.volume(k)) for k in sorted(self.volumes))
        return Observed(containers, volumes, frozenset(self.networks), dict(self.images))

    def health(self, container_id: str) -> Health:
        return Health(self.containers[container_id].state, None, 0)

    def inspect(self, container_id: str) -> dict[str, Any]:
        found = self.containers[container_id]
        name = found.name or Names(self.instance).container(
            found.request.key, found.request.replica
        )
        return {"Id": container_id, "Name": f"/{name}"}

    def rename(self, container_id: str, name: str) -> None:
        self.calls.append(("rename", self._name(container_id)))
        self.containers[container_id].name = name

    def environment(self, container_id: str) -> dict[str, str]:
        return dict(self.containers[container_id].request.environment)

    def logs(self, container_id: str, tail: int | None = None) -> str:
        return ""

    def image_config(self, reference: str) -> dict[str, Any]:
        found = self.images.get(normalize_reference(reference))
        if found is None:
            raise EngineError(f"no such image: {reference}")
        return {"Id": found}

    def volume_usage(self) -> dict[str, int]:
        return {}

    def events(
        self, since: float | None = None, until: float | None = None
    ) -> Iterator[dict[str, Any]]:
        return iter(())

    # -- writing -------------------------------------------------------------------------------
    def ensure_network(self, project: str) -> None:
        self.calls.append(("ensure_network", project))
        self.networks.add(project)

    def ensure_volume(self, key: VolumeKey, declared: Mapping[str, Any] | None = None) -> None:
        self.calls.append(("ensure_volume", str(key)))
        self.volumes.add(key)

    def pull(
        self, reference: str, auth: Mapping[str, str] | None = None, platform: str | None = None
    ) -> None:
        check_pull_auth(reference, auth)  # the engine's contract: credentials for their host only
        self.calls.append(("pull", reference))
        self.platforms.append(platform)
        if reference in self.fail_pull:
            raise EngineError(f"pull access denied for {reference}")
        ref = normalize_reference(reference)
        self.images[ref] = self.registry.get(ref, image_id_of(reference))

    def distribution(self, reference: str, auth: Mapping[str, str] | None, timeout: float) -> str:
        """Resolves what `pull` would fetch, or what `fail_pull` does not name."""
        check_pull_auth(reference, auth)
        self.calls.append(("distribution", reference))
        if reference in self.fail_pull:
            raise EngineError(f"manifest for {reference} not found: manifest unknown")
        return "sha256:" + hashlib.sha256(reference.encode()).hexdigest()

    def create(self, request: ContainerRequest) -> str:
        found = self.images.get(normalize_reference(request.image))
        if found is None:
            raise EngineError(f"no such image: {request.image}")
        container_id = f"c{next(self._ids)}"
        self.containers[container_id] = FakeContainer(
            container_id, request, found, float(len(self.containers))
        )
        self.calls.append(("create", str(request.key)))
        return container_id

    def start(self, container_id: str) -> None:
        self.calls.append(("start", self._name(container_id)))
        container = self.containers[container_id]
        if container.request.key.name in self.fail_start:
            container.state = ContainerState.EXITED
            raise EngineError(f"{container.request.key.name}: planted start failure")
        container.state = ContainerState.RUNNING

    def restart(self, container_id: str, timeout: int) -> None:
        self.calls.append(("restart", self._name(container_id)))
        self.containers[container_id].state = ContainerState.RUNNING

    def remove_volume(self, key: VolumeKey) -> None:
        self.calls.append(("remove_volume", str(key)))
        self.volumes.discard(key)

    def login(self, auth: Mapping[str, str]) -> tuple[bool, str]:
        check_login_auth(auth)
        return False, "the fake engine has no registry"

    def stop(self, container_id: str, timeout: int) -> None:
        self.calls.append(("stop", self._name(container_id)))
        self.containers[container_id].state = ContainerState.EXITED

    def remove(self, container_id: str) -> None:
        self.calls.append(("remove", self._name(container_id)))
        del self.containers[container_id]
