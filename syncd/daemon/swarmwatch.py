"""The Swarm facts of the published snapshot kept fresh between syncs: Swarm reschedules tasks
and marks nodes down on its own, with no event on the manager for most of it, so on a Swarm
engine the nodes and task summaries are read again every few seconds (three Engine API calls)
and a copy of the snapshot with them is published when they changed. Nothing is written."""

from __future__ import annotations

import dataclasses
import threading
from typing import Protocol

from syncd import logs
from syncd.daemon.snapshot import DaemonSnapshot
from syncd.engine.swarmview import TaskSource
from syncd.errors import SyncdError

SWARM_EVERY = 5.0  # seconds between looks at the nodes and tasks


class Publisher(Protocol):
    def snapshot(self) -> DaemonSnapshot | None: ...

    def publish(self, snapshot: DaemonSnapshot, base: DaemonSnapshot | None = None) -> None: ...


def fresher(engine: TaskSource, base: DaemonSnapshot) -> DaemonSnapshot | None:
    """`base` with the Swarm facts as they are now; None when they did not change."""
    ids = {c.id for c in base.observation.containers.values()}
    state = engine.swarm_state(ids)
    return None if state == base.swarm else dataclasses.replace(base, swarm=state)


def watch(
    stop: threading.Event, engine: object, daemon: Publisher, every: float = SWARM_EVERY
) -> None:
    """Until `stop`; returns at once on an engine that is not a Swarm's."""
    if not isinstance(engine, TaskSource):
        return
    log = logs.get()
    failing = False
    while not stop.wait(every):
        base = daemon.snapshot()
        if base is None:
            continue
        try:
            newer = fresher(engine, base)
        except SyncdError as err:
            if not failing:
                log.warning("swarm_state_failed", error=str(err))
            failing = True
            continue
        failing = False
        if newer is not None:
            daemon.publish(newer, base)  # unless a sync published meanwhile
