"""Two of the daemon's trigger loops: the update schedules and the refs watch of a local repo.
Each only *requests* a sync (`Daemon.request`)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from syncd import logs
from syncd.apply.updates import Updates
from syncd.daemon.pausing import Pausing
from syncd.daemon.status import Trigger
from syncd.source.repository import Repository

SCHEDULE_TICK = 1.0  # seconds between looks at the update schedules (no registry call)
Request = Callable[[Trigger], None]


def schedules(stop: threading.Event, pausing: Pausing, updates: Updates, request: Request) -> None:
    """A sync when a service's updateSchedule is due (the check runs in that sync, under the
    instance lock). Not in detect mode or while the instance is paused: the check pulls the new
    image, a write to the engine."""
    while not stop.wait(SCHEDULE_TICK):
        if pausing.detect or pausing.state().instance is not None:
            continue
        if updates.newly_due():
            request(Trigger.SCHEDULE)


def watch(stop: threading.Event, repo: Repository, request: Request) -> None:
    """A sync when the branch's ref changes in a local repository."""
    from syncd.source.watcher import watch_refs

    log = logs.get()

    def changed() -> None:
        request(Trigger.WATCH)

    def failed(err: Exception) -> None:
        log.warning("watch_failed", error=str(err))

    watch_refs(repo.git_dir, repo.branch, changed, stop, failed)
