"""Live state: what an engine adapter reports runs in Docker, in one normalized shape.

An engine fills it from one listing of syncd-owned objects; a revision-to-revision plan fills it
from the base revision's desired state. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from syncd.core import canonical
from syncd.core.canonical import Spec
from syncd.ids import ServiceKey, StackKey, VolumeKey


class ServiceStatus(StrEnum):
    """mittwald's `ServiceStatus`."""

    RUNNING = "running"
    STOPPED = "stopped"
    ERROR = "error"
    CREATING = "creating"
    STARTING = "starting"
    STOPPING = "stopping"


@dataclass(frozen=True)
class Replica:
    """One container of a service."""

    index: int  # 1-based
    container_id: str
    status: ServiceStatus
    published: tuple[str, ...] = ()  # the host ports Docker bound (`engine.base.ObservedContainer`)


@dataclass(frozen=True)
class LiveService:
    key: ServiceKey
    spec: Spec = field(repr=False)  # the canonical spec applied last; real values: never print
    hash: str  # the config hash label of the running container
    status: ServiceStatus
    revision: str | None = None
    container_id: str | None = None
    image_id: str | None = None
    operator_stopped: bool = False  # stopped through syncd: self-heal leaves it stopped
    secrets: frozenset[str] = frozenset()
    # every container of the service (`container_id` is the first); empty when none was seen
    replicas: tuple[Replica, ...] = ()

    def containers(self) -> tuple[Replica, ...]:
        """The service's containers, replica 1 first: `replicas`, or the one container."""
        if self.replicas or self.container_id is None:
            return self.replicas
        return (Replica(1, self.container_id, self.status),)


@dataclass(frozen=True)
class LiveVolume:
    key: VolumeKey
    orphaned: bool = False  # kept in Docker, but no longer declared by its stack
    # as the engine reports it: {driver, driverOpts, labels} (syncd's own labels left out);
    # None: not known (a revision-to-revision plan)
    declared: Mapping[str, Any] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class LiveStack:
    key: StackKey
    services: Mapping[str, LiveService] = field(default_factory=dict)
    volumes: Mapping[str, LiveVolume] = field(default_factory=dict)
    description: str = ""

    def spec(self) -> Spec:
        return {
            "description": self.description,
            "services": {name: s.spec for name, s in sorted(self.services.items())},
            "volumes": {
                name: {"name": name} for name, v in sorted(self.volumes.items()) if not v.orphaned
            },
        }

    def secrets(self) -> frozenset[str]:
        return frozenset(
            f"/services/{canonical.escape(n)}{p}"
            for n, s in self.services.items()
            for p in s.secrets
        )


@dataclass(frozen=True)
class LiveState:
    stacks: Mapping[StackKey, LiveStack] = field(default_factory=dict)
    networks: frozenset[str] = frozenset()  # projects whose network exists

    def last_applied(self) -> dict[ServiceKey, Spec]:
        """The base of PATCH semantics: the spec each live service was created from."""
        return {s.key: s.spec for st in self.stacks.values() for s in st.services.values()}

    def last_secrets(self) -> dict[ServiceKey, frozenset[str]]:
        """The tainted pointers of those specs."""
        return {s.key: s.secrets for st in self.stacks.values() for s in st.services.values()}
