"""What the API is given (`cli/run.py` wires it): the daemon's facts through a snapshot
provider, a task runner for the operator tasks, a trigger sink and the metrics. Never the
daemon itself."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from syncd import taint
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


def readable_logs(tasks: TaskRunner, key: ServiceKey, tail: int) -> str | None:
    """A service's logs as any reader gets them (the `/v2` route, the status page): a container
    may print its own environment (a config dump, a crash), and the read token never reads a
    secret value, whoever prints it. Line by line: a line that would show a short value is
    withheld, not the whole log. None: the service has no container."""
    text = tasks.logs(key, tail)
    return None if text is None else "\n".join(taint.scrub_known(text.split("\n")))


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
