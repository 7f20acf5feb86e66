"""Server-sent events for the status page: each open page holds one stream and is told
`changed` when what it shows changed (a sync finished or started, a container changed, a pause,
the engine came or went); the page then fetches its content again. Nothing is queued: a stream
compares a small fingerprint of the daemon's state a few times a second, so a slow or stalled
reader costs one comparison, never a growing buffer. At most `MAX_STREAMS` streams are open (the
next gets 503); each sends a heartbeat comment every `HEARTBEAT` seconds (proxies close silent
connections), ends after `LIFETIME` seconds (the browser reconnects by itself), and all end at
once when the server shuts down."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Hashable
from typing import Any

from syncd.daemon.snapshot import SnapshotProvider

MAX_STREAMS = 8
TICK = 0.2  # seconds between fingerprint checks
HEARTBEAT = 15.0
LIFETIME = 1800.0
RETRY_MS = 2000  # the browser waits this long before it reconnects


def fingerprint(state: SnapshotProvider) -> Hashable:
    """What changes whenever the page would: compared, never shown."""
    status = state.status
    snapshot = state.snapshot()
    return (
        id(snapshot),
        snapshot.built_at if snapshot else None,
        status.syncs,
        status.syncing,
        status.engine_available,
        id(status.last_sync),
        id(status.last_error),
        id(status.pause),
        status.held,
        status.applied_revision,
        id(status.broken_stacks),
    )


class Feed:
    def __init__(
        self,
        state: SnapshotProvider,
        closing: threading.Event,
        *,
        max_streams: int = MAX_STREAMS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.state = state
        self.closing = closing
        self.max_streams = max_streams
        self.clock = clock
        self._open = 0
        self._lock = threading.Lock()

    def claim(self) -> bool:
        """A stream slot, or False when all are taken."""
        with self._lock:
            if self._open >= self.max_streams:
                return False
            self._open += 1
            return True

    def _release(self) -> None:
        with self._lock:
            self._open -= 1

    @property
    def streams(self) -> int:
        return self._open

    async def stream(self, disconnected: Callable[[], Any]) -> AsyncIterator[bytes]:
        """One claimed stream's events (the slot is given back when it ends)."""
        try:
            seen = fingerprint(self.state)
            began = written = self.clock()
            changes = 0
            yield f"retry: {RETRY_MS}\nevent: hello\ndata: 0\n\n".encode()
            while not self.closing.is_set() and self.clock() - began < LIFETIME:
                await asyncio.sleep(TICK)
                if await disconnected():
                    break
                now = fingerprint(self.state)
                if now != seen:
                    seen, changes, written = now, changes + 1, self.clock()
                    yield f"event: changed\ndata: {changes}\n\n".encode()
                elif self.clock() - written >= HEARTBEAT:
                    written = self.clock()
                    yield b": heartbeat\n\n"
        finally:
            self._release()
