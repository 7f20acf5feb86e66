"""What the Swarm apply steps ask of a Swarm engine beyond `Engine`: services, their update
state, configs and secrets. Pure: the vocabulary only (`engine.swarm` implements it)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from syncd.engine.base import Engine, Names
from syncd.ids import ServiceKey


@dataclass(frozen=True)
class ServiceState:
    """One inspect of a service: its spec, version index and rolling-update state."""

    id: str
    version: int
    spec: Mapping[str, Any]
    previous: Mapping[str, Any] | None  # PreviousSpec: what a rollback goes back to
    update_state: str | None  # UpdateStatus.State: updating, completed, rollback_completed, ...
    update_started: str | None  # UpdateStatus.StartedAt (RFC 3339)
    update_message: str | None


@dataclass(frozen=True)
class Progress:
    running: int
    desired: int
    error: str | None  # the newest failed task's error


@dataclass(frozen=True)
class StoredFile:
    secret: bool
    id: str
    name: str


class SwarmApi(Engine):
    names: Names

    @abstractmethod
    def network_id(self, project: str) -> str:
        """The project's overlay network's id (created if missing)."""

    @abstractmethod
    def service(self, service_id: str) -> ServiceState: ...

    @abstractmethod
    def progress(self, service_id: str) -> Progress: ...

    @abstractmethod
    def create_service(self, spec: Mapping[str, Any], auth: Mapping[str, str] | None = None) -> str:
        """The new service's id; `auth` (the image's own registry's, `check_pull_auth`) goes to
        Swarm as `X-Registry-Auth`, for the nodes to pull with."""

    @abstractmethod
    def update_service(
        self,
        service_id: str,
        version: int,
        spec: Mapping[str, Any],
        auth: Mapping[str, str] | None = None,
    ) -> None: ...

    @abstractmethod
    def spec_image(self, service_id: str) -> str | None:
        """The image the service's spec named at the last `observe` (None: not seen)."""

    @abstractmethod
    def remove_service(self, service_id: str) -> None: ...

    @abstractmethod
    def ensure_file(self, secret: bool, name: str, data: bytes, labels: Mapping[str, str]) -> str:
        """The id of the config (secret) `name`, created with `data` if missing (a name is a
        content hash: an existing one holds the same data)."""

    @abstractmethod
    def files(self, key: ServiceKey) -> list[StoredFile]:
        """The configs and secrets syncd made for one service."""

    @abstractmethod
    def remove_file(self, file: StoredFile) -> bool:
        """Remove it; False where Swarm refuses (a service still uses it)."""
