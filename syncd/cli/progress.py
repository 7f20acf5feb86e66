"""`syncd apply`'s progress on stderr: on a terminal one live line, rewritten with `\\r` as a
pull's bytes grow or a health wait goes on, and ended at each phase's end; otherwise one plain
line per phase's start and end (no byte ticks). What is shown passes `taint.printable`."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from syncd.engine.base import Engine
from syncd.progress import Event, Phase
from syncd.taint import printable


def size(count: int | None) -> str:
    if count is None:
        return "?"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} B"


def describe(event: Event) -> str:
    subject = printable(event.subject)
    match event.phase:
        case Phase.PULL:
            if event.failed:
                return f"pull of {subject} failed"
            if event.done:
                return f"pulled {subject} ({size(event.current)})"
            if event.current is None:
                return f"pulling {subject}"
            return f"pulling {subject}: {size(event.current)} / {size(event.total)}"
        case Phase.CREATE:
            verb = "replac" if event.detail == "replace" else "creat"
            return f"{verb}ed {subject}" if event.done else f"{verb}ing {subject}"
        case Phase.HEALTH:
            if event.done:
                return f"{subject} is {printable(event.detail)}"
            return f"waiting for {subject} to be healthy ({printable(event.detail)})"


class Lines:
    """A `syncd.progress.Progress` writing to a stream; `close` ends a line left open."""

    def __init__(self, stream: TextIO, *, live: bool) -> None:
        self.stream = stream
        self.live = live
        self._lock = threading.Lock()  # pulls report from several threads
        self._last = ""
        self._open = False

    def report(self, event: Event) -> None:
        text = describe(event)
        with self._lock:
            if text == self._last:
                return
            self._last = text
            if self.live:
                self.stream.write(f"\r\x1b[K{text}" + ("\n" if event.done else ""))
                self._open = not event.done
            elif event.done or event.current is None:  # no byte ticks off a terminal
                self.stream.write(text + "\n")
            self.stream.flush()

    def close(self) -> None:
        with self._lock:
            if self._open:
                self.stream.write("\n")
                self.stream.flush()
                self._open = False


@contextmanager
def shown(engine: Engine, stream: TextIO | None = None) -> Iterator[Lines]:
    """Progress of what `engine` does meanwhile, on `stream` (stderr)."""
    out = stream or sys.stderr
    lines = Lines(out, live=out.isatty())
    engine.reporter = lines
    try:
        yield lines
    finally:
        lines.close()
        del engine.reporter  # the class's silent one again
