"""Docker's events as sync triggers, and the engine's outages: a container that died, or whose
healthcheck verdict changed (`health_status: ...`, sent on a change only), asks for a sync, so
the status, the status page and the metrics see it at once; a broken stream with no answer from
Docker is an outage (`engine_unavailable`), reported in the status until Docker answers again
(`engine_available`, then a sync)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from syncd import logs
from syncd.daemon.status import LastError, Stage, Status, Trigger
from syncd.engine.base import Engine

WATCHED_EVENTS = {"die", "destroy", "oom", "health_status"}
EVENT_SETTLE = 0.5  # seconds between a container's event and the sync it triggers


class EngineWatch:
    def __init__(
        self,
        engine: Engine,
        status: Status,
        request: Callable[[Trigger], None],
        stop: threading.Event,
    ) -> None:
        self.engine = engine
        self.status = status
        self.request = request
        self.stop = stop
        self.log = logs.get()

    def run(self) -> None:
        """Docker events of our containers, as one long-lived stream (no polling, no idle cost).
        When the stream breaks and Docker does not answer, it is polled every second."""
        outage = False
        while not self.stop.is_set():
            since = time.time()
            try:
                if outage:
                    self.engine.observe()  # raises while Docker is still away
                    outage = False
                    self.log.info("engine_available")
                    self.request(Trigger.ENGINE_BACK)
                for event in self.engine.events(since=since):
                    self.on_event(event)
                self.engine.observe()  # the stream ended: is Docker still there?
            except Exception as err:  # this loop must outlive anything the engine answers
                if not outage:
                    self.log.warning("engine_unavailable", error=str(err))
                    self.engine_down(str(err))
                outage = True
                self.stop.wait(1.0)

    def on_event(self, event: dict[str, Any]) -> None:
        action = str(event.get("Action") or event.get("status") or "")
        # `exec_start: <command>`: a healthcheck's command may hold a secret; log the verb only
        verb = action.split(":", 1)[0]
        self.log.debug("engine_event", type=event.get("Type"), action=verb)
        if event.get("Type") == "container" and verb in WATCHED_EVENTS:
            # Docker's listing can lag its events: look a moment later. Our own recreates
            # cause these too; that costs one no-op sync.
            settle = threading.Timer(EVENT_SETTLE, self.request, (Trigger.DOCKER_EVENT,))
            settle.daemon = True
            settle.start()

    def engine_down(self, message: str) -> None:
        self.status.engine_available = False
        self.status.last_error = LastError(Stage.ENGINE, message, time.time(), outage=True)
