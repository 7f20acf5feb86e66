"""What the API is given (`cli/run.py` wires it): the daemon's facts through a snapshot
provider, a task runner for the operator tasks, a trigger sink and the metrics. Never the
daemon itself."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from syncd.api.view import View, Views
from syncd.apply.pauses import PauseState
from syncd.core.desired import DesiredRegistry
from syncd.daemon.config import RunConfig
from syncd.daemon.liveplans import LivePlanner
from syncd.daemon.snapshot import SnapshotProvider, TriggerSink
from syncd.daemon.tasks import Task
from syncd.ids import ServiceKey, StackKey, VolumeKey


class TaskRunner(Protocol):
    """The operator tasks and checks the API offers (`syncd.daemon.tasks.Operator`)."""

    def service(self, task: Task, key: ServiceKey) -> None: ...

    def delete_volume(self, key: VolumeKey) -> None: ...

    def registry_by_id(self, registry_id: str) -> DesiredRegistry | None: ...

    def stack_source(self, stack_id: str) -> str | None: ...

    def validate_credentials(self, registry: DesiredRegistry) -> bool: ...

    def image_config(
        self, reference: str, project_id: str | None, registry_id: str | None
    ) -> dict[str, Any]: ...

    def logs(self, key: ServiceKey, tail: int) -> str | None: ...


class PauseControl(Protocol):
    """Pauses and detect mode (`syncd.daemon.pausing.Pausing`)."""

    def pause(self, stacks: Iterable[StackKey], by: str, reason: str = "") -> PauseState: ...

    def resume(self, stacks: Iterable[StackKey], *, everything: bool = False) -> PauseState: ...

    def refuse_writes(self, what: str) -> None: ...


class MetricsPort(Protocol):
    def webhook_rejected(self) -> None: ...

    def render(self) -> bytes: ...


@dataclass(frozen=True)
class Wiring:
    config: RunConfig
    state: SnapshotProvider
    views: Views
    tasks: TaskRunner
    triggers: TriggerSink
    metrics: MetricsPort
    plans: LivePlanner | None = None  # POST /v2/syncd/plans
    pausing: PauseControl | None = None  # POST /v2/syncd/pause, /resume

    def view(self) -> View:
        return self.views.current()
