"""Progress of long work (`syncd apply`): the events the engine and the executor report while
they pull images, create containers and wait for healthchecks, and the seam they report through.
The engine and the executor never print: whoever wants to show progress (the CLI on a terminal)
sets a `Progress` on the engine (`Engine.progress`); the default is silent. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Phase(StrEnum):
    PULL = "pull"  # an image: bytes downloaded of the layers' total
    CREATE = "create"  # a service's new container (created or replacing the old one)
    HEALTH = "health"  # waiting for a container to run and pass its healthcheck


@dataclass(frozen=True)
class Event:
    phase: Phase
    subject: str  # the image reference, or the service key (`shop/default/web`)
    done: bool = False  # the phase ended for this subject (`failed` says how)
    current: int | None = None  # bytes so far (pulls)
    total: int | None = None  # bytes in all (pulls; as far as the engine knows yet)
    detail: str = ""  # a word more: `replace`, the health verdict so far
    failed: bool = False


class Progress(Protocol):
    def report(self, event: Event) -> None: ...


class Silent:
    """Reports nowhere: the daemon's engine, and any apply not on a terminal's CLI."""

    def report(self, event: Event) -> None:
        return None


SILENT = Silent()


def health(reporter: Progress, subject: str, verdict: object, *, done: bool = False) -> None:
    """A health wait's step: the verdict so far (`starting`), or passed (`done`)."""
    reporter.report(Event(Phase.HEALTH, subject, done=done, detail=str(verdict or "running")))
