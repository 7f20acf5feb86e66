"""Which of Docker's events ask for a sync (`daemon.events.EngineWatch.on_event`)."""

from __future__ import annotations

import threading
import time
from typing import Any, cast

import pytest
import structlog

from syncd.daemon.events import EVENT_SETTLE, EngineWatch
from syncd.daemon.status import Status, Trigger
from tests.daemon_support import wait_for


def watch() -> tuple[EngineWatch, list[Trigger]]:
    asked: list[Trigger] = []
    status = Status(repo="r", branch="main", instance="i", started_at=0.0)
    return EngineWatch(cast(Any, None), status, asked.append, threading.Event()), asked


@pytest.mark.parametrize(
    ("action", "syncs"),
    [
        ("die", True),
        ("destroy", True),
        ("oom", True),
        ("health_status: unhealthy", True),
        ("health_status: healthy", True),
        ("start", False),  # our own starts: nothing to look at
        ("exec_start: sh -c 'curl -u admin:hunter2 localhost'", False),  # each healthcheck run
        ("exec_die", False),
    ],
)
def test_a_container_event_asks_for_a_sync_after_it_settles(action: str, syncs: bool) -> None:
    engine_watch, asked = watch()
    with structlog.testing.capture_logs() as logged:
        engine_watch.on_event({"Type": "container", "Action": action})
    if syncs:  # asked once it settles (a timer thread: however loaded the machine)
        wait_for(lambda: asked, 10, "the sync asked for")
    time.sleep(EVENT_SETTLE + 0.3)  # and never more than once, nor at all for the others
    assert asked == ([Trigger.DOCKER_EVENT] if syncs else [])
    assert "hunter2" not in str(logged)  # a healthcheck's command: its verb only


def test_other_objects_events_ask_for_nothing() -> None:
    engine_watch, asked = watch()
    engine_watch.on_event({"Type": "network", "Action": "destroy"})
    time.sleep(EVENT_SETTLE + 0.3)
    assert asked == []
