"""What executing a plan gives back: one result per service, and the sync's result."""

from __future__ import annotations

from dataclasses import dataclass

from syncd.core.desired import DesiredState
from syncd.core.observe import Observation
from syncd.core.plan import Action, Plan
from syncd.engine.base import Observed
from syncd.ids import ServiceKey


@dataclass(frozen=True)
class ServiceResult:
    key: ServiceKey
    action: Action
    ok: bool
    detail: str  # what happened, or the error (never a secret value)
    container_id: str | None = None
    unhealthy_dependency: bool = False  # failed at a `service_healthy` gate
    rolled_back: bool = False  # its new container failed: the old one runs again (`rollback`)


@dataclass(frozen=True)
class SyncResult:
    plan: Plan
    services: tuple[ServiceResult, ...] = ()
    errors: tuple[str, ...] = ()  # failures outside one service (volumes, networks, strays)
    dry_run: bool = False
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors and all(r.ok for r in self.services)

    @property
    def rolled_back(self) -> tuple[ServiceResult, ...]:
        """The services whose replace failed and was rolled back."""
        return tuple(r for r in self.services if r.rolled_back)

    @property
    def failed(self) -> tuple[ServiceResult, ...]:
        return tuple(r for r in self.services if not r.ok)


@dataclass(frozen=True)
class Planned:
    """A plan with what it was computed from, ready to execute."""

    plan: Plan
    desired: DesiredState
    observation: Observation
    observed: Observed
