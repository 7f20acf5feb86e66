"""A service's containers, one per replica: replaced stop-first or start-first, and brought to
the declared number. Each step is safe to interrupt: `observe` keeps one container per replica
number (and only those with replica 1's config hash) and the next sync finishes the work.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from syncd import progress
from syncd.apply.rollback import Keeper
from syncd.core.live import LiveService, Replica, ServiceStatus
from syncd.engine.base import ContainerHealth, ContainerRequest, ContainerState, Engine
from syncd.errors import EngineUnavailable, RolledBack, ServiceFailed, SyncdError
from syncd.manifests.options.lifecycle import UpdateOrder

POLL = 0.2  # seconds between two looks at a new container's health
Request = Callable[[int], ContainerRequest]  # replica number -> what to create
DOWN = (ServiceStatus.STOPPED, ServiceStatus.ERROR)


class Rollout:
    def __init__(
        self, engine: Engine, stop_timeout: int, health_timeout: float, grace: float = 0.0
    ) -> None:
        self.engine = engine
        self.stop_timeout = stop_timeout
        self.health_timeout = health_timeout
        self.grace = grace  # seconds a stop-first replacement must keep running (`rollback`)

    def discard(self, container_id: str) -> None:
        self.engine.stop(container_id, self.stop_timeout)
        self.engine.remove(container_id)

    def run(self, request: ContainerRequest) -> str:
        container_id = self.engine.create(request)
        self.engine.start(container_id)
        return container_id

    def replace(
        self, live: LiveService | None, wanted: int, order: UpdateOrder, request: Request
    ) -> str | None:
        """New containers for replicas 1..`wanted`, in turn; the old ones beyond removed.
        The first new container's id (None for no replica)."""
        old = {r.index: r for r in live.containers()} if live else {}
        keeper = None
        if old and order is UpdateOrder.STOP_FIRST:  # kept until the new ones proved themselves
            keeper = Keeper(self.engine, self.stop_timeout, self.health_timeout, self.grace)
        first: str | None = None
        for index in range(1, wanted + 1):
            previous = old.pop(index, None)
            if previous is not None and order is UpdateOrder.START_FIRST:
                made = self._start_first(request(index), previous.container_id)
            elif keeper is not None:
                made = keeper.replace(previous.container_id if previous else None, request(index))
            else:
                if previous is not None:
                    self.discard(previous.container_id)
                made = self.run(request(index))
            first = first or made
        if keeper is not None:
            keeper.commit()
        for replica in old.values():
            self.discard(replica.container_id)
        return first

    def converge(
        self, found: tuple[Replica, ...], wanted: int, request: Request, *, start: bool
    ) -> str | None:
        """Replicas 1..`wanted` there (started, unless `start` is off), the others removed;
        the first container's id."""
        have = {r.index: r for r in found}
        ids: dict[int, str] = {}
        for index in range(1, wanted + 1):
            replica = have.get(index)
            if replica is None:
                if start:
                    ids[index] = self.run(request(index))
                continue
            if start and replica.status in DOWN:
                self.engine.start(replica.container_id)
            ids[index] = replica.container_id
        for index, replica in sorted(have.items()):
            if index > wanted:
                self.discard(replica.container_id)
        return ids[min(ids)] if ids else None

    def _start_first(self, request: ContainerRequest, old: str) -> str:
        """The new container runs (and is healthy, if it has a healthcheck) before the old one
        goes; if it never gets there, it goes and the old one keeps running, with its name."""
        name = self.engine.set_aside(old)
        made: str | None = None
        try:
            made = self.engine.create(request)
            self.engine.start(made)
            self._ready(made, str(request.key))
        except EngineUnavailable:
            raise
        except SyncdError as err:
            if made is not None:
                self.engine.remove(made)
            self.engine.rename(old, name)
            raise RolledBack(str(err)) from None  # the old one never stopped: status, flap guard
        # its names stop resolving before it stops: no client is sent to a container going away
        with contextlib.suppress(SyncdError):  # if not, it goes as a stop-first one would
            self.engine.leave_networks(old)
        self.discard(old)
        return made

    def _ready(self, container_id: str, subject: str) -> None:
        deadline = time.monotonic() + self.health_timeout
        while True:
            state = self.engine.health(container_id)
            progress.health(self.engine.reporter, subject, state.health or state.state)
            if state.state is ContainerState.RUNNING and state.health in (
                None,
                ContainerHealth.HEALTHY,
            ):
                progress.health(self.engine.reporter, subject, state.health, done=True)
                return
            if state.state in (ContainerState.EXITED, ContainerState.DEAD):
                raise ServiceFailed(
                    f"the new container exited with code {state.exit_code} "
                    "(start-first: the old one keeps running)"
                )
            if state.health is ContainerHealth.UNHEALTHY or time.monotonic() >= deadline:
                raise ServiceFailed(
                    f"the new container was not healthy within {self.health_timeout:g} s "
                    f"(health: {state.health or 'none'}; start-first: the old one keeps running)"
                )
            time.sleep(POLL)
