"""Stop-first replaces that can be undone: each old container is stopped and set aside (renamed
`<name>.old-<id12>`, labels unchanged) before its replacement is created, and removed only once
every new container of the service has proven itself (running; healthy, when it has a
healthcheck; still running after the grace period). If one fails, every new container of the
service goes and every old one is renamed back and started: same name, same volumes.

A process killed at any point leaves at most an old container set aside and a new one per
replica; `observe` keeps the set-aside one (it prefers it) and the next sync replaces it again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from syncd import logs, progress
from syncd.apply.results import Planned
from syncd.core.live import ServiceStatus
from syncd.core.observe import set_aside
from syncd.core.plan import Reason
from syncd.engine.base import ContainerHealth, ContainerRequest, ContainerState, Engine, Names
from syncd.errors import EngineUnavailable, RolledBack, ServiceFailed, SyncdError

POLL = 0.2  # seconds between two looks at a new container
MAX_REASON = 500  # characters of an engine's answer kept in the reason


@dataclass
class Swap:
    """One replica's replace: the old container set aside (None: a new replica) and the new one."""

    name: str  # the replica's own name, which the old container gets back
    old: str | None
    new: str | None = None


class Keeper:
    """The replaces of one service's containers, undone together if one fails."""

    def __init__(
        self, engine: Engine, stop_timeout: int, health_timeout: float, grace: float
    ) -> None:
        self.engine = engine
        self.stop_timeout = stop_timeout
        self.health_timeout = health_timeout
        self.grace = grace
        self.swaps: list[Swap] = []
        self.log = logs.get()

    def replace(self, old: str | None, request: ContainerRequest) -> str:
        """The new container of `request.replica`, proven; `RolledBack` (everything of this
        service undone) when it fails."""
        swap = Swap(Names(self.engine.instance).container(request.key, request.replica), old)
        self.swaps.append(swap)
        try:
            if old is not None:
                self.engine.stop(old, self.stop_timeout)
                self.engine.set_aside(old)
            swap.new = self.engine.create(request)
            self.engine.start(swap.new)
            self._prove(swap.new, str(request.key))
        except EngineUnavailable:
            raise
        except SyncdError as err:
            reason = str(err)[:MAX_REASON]
            try:
                self.rollback()
            except EngineUnavailable:
                raise
            except SyncdError as failed:
                raise ServiceFailed(
                    f"{reason}; restoring the old container failed too (the next sync retries): "
                    f"{str(failed)[:MAX_REASON]}"
                ) from None
            raise RolledBack(reason) from None
        return swap.new

    def commit(self) -> None:
        """Every new container proved itself: the old ones go (the first replica's last, so
        that an interrupted commit leaves one spec to observe)."""
        for swap in reversed(self.swaps):
            if swap.old is not None:
                self.engine.remove(swap.old)
        self.swaps.clear()

    def rollback(self) -> None:
        """The new containers removed, the old ones back under their names and started."""
        for swap in reversed(self.swaps):
            if swap.new is not None:
                self.engine.remove(swap.new)
            if swap.old is not None:
                self.engine.rename(swap.old, swap.name)
                self.engine.start(swap.old)
        # (no reason here: the engine's answer may quote a secret; `service_applied` carries
        # it, redacted)
        self.log.warning(
            "service_rolled_back", container=self.swaps[0].name if self.swaps else None
        )
        self.swaps.clear()

    def _prove(self, container_id: str, subject: str) -> None:
        """Running (and healthy, with a healthcheck) within the health timeout, and still
        running once the grace period is over."""
        started = time.monotonic()
        settled = started + self.grace
        deadline = started + max(self.health_timeout, self.grace)
        while True:
            state = self.engine.health(container_id)
            progress.health(self.engine.reporter, subject, state.health or state.state)
            if state.state in (ContainerState.EXITED, ContainerState.DEAD):
                raise ServiceFailed(f"the new container exited with code {state.exit_code}")
            if state.state is ContainerState.RESTARTING:
                raise ServiceFailed("the new container exited and is being restarted")
            if state.health is ContainerHealth.UNHEALTHY:
                raise ServiceFailed("the new container's healthcheck failed (unhealthy)")
            ready = state.state is ContainerState.RUNNING and state.health in (
                None,
                ContainerHealth.HEALTHY,
            )
            now = time.monotonic()
            if ready and now >= settled:
                progress.health(self.engine.reporter, subject, state.health, done=True)
                return
            if now >= deadline:
                raise ServiceFailed(
                    f"the new container was not healthy within {self.health_timeout:g} s "
                    f"(health: {state.health or 'none'})"
                )
            time.sleep(POLL)


def restore_set_aside(engine: Engine, planned: Planned) -> None:
    """Containers an interrupted replace left set aside, kept by `observe`, get their names
    back; those whose recreate the flap guard holds are started again."""
    held = {c.key for s in planned.plan.stacks for c in s.services if c.reason is Reason.HELD}
    live = planned.observation.live
    down = {
        r.container_id
        for st in live.stacks.values()
        for s in st.services.values()
        if s.key in held and not s.operator_stopped
        for r in s.containers()
        if r.status in (ServiceStatus.STOPPED, ServiceStatus.ERROR)
    }
    kept = {r.container_id for st in live.stacks.values() for s in st.services.values()
            for r in s.containers()}  # fmt: skip
    names = Names(engine.instance)
    for container in planned.observed.containers:
        if container.id in kept and set_aside(container):
            engine.rename(container.id, names.container(container.key, container.replica))
        if container.id in down:
            engine.start(container.id)
