"""What `syncd status` shows, whichever way it was read (the daemon's API, or Docker and the
state store on the host): one row per service, the stacks' rows, and whether everything is
converged and healthy. Its JSON is a stable shape (camelCase keys, ISO 8601 times). Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from syncd import timestamps

NO_HEALTH = "-"  # no healthcheck, or not known (through the API)


def when(value: object) -> datetime | None:
    """A time as the daemon answers it: unix seconds (a number) or an ISO 8601 string; None
    for anything else."""
    return timestamps.parse(value)


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def age(moment: datetime | None, now: datetime) -> str:
    """`45s`, `12m`, `3h`, `5d`: how long ago, for a terminal."""
    return "-" if moment is None else timestamps.ago((now - moment).total_seconds())


def columns(rows: list[tuple[str, ...]]) -> list[str]:
    """Rows as a terminal table: every cell but the last padded to its column's width, the last
    (a free-length message) left as it is."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]]).rstrip()
        for row in rows
    ]


def short(revision: str | None) -> str:
    return revision[:12] if revision else "-"


@dataclass(frozen=True)
class Row:
    """One service: `problem` says why it is not converged and healthy (None: it is)."""

    project: str
    stack: str
    name: str
    state: str
    health: str
    revision: str | None
    since: datetime | None
    problem: str | None = None
    note: str | None = None  # fine, but worth saying (stopped by an operator)

    @property
    def key(self) -> str:
        return f"{self.project}/{self.stack}/{self.name}"

    @property
    def message(self) -> str:
        return self.problem or self.note or ""

    def as_json(self) -> dict[str, Any]:
        return {
            "service": self.key,
            "project": self.project,
            "stack": self.stack,
            "name": self.name,
            "state": self.state,
            "health": self.health,
            "revision": self.revision,
            "since": iso(self.since),
            "ok": self.problem is None,
            "problem": self.problem,
            "note": self.note,
        }


@dataclass(frozen=True)
class StackRow:
    key: str  # project/stack
    applied_revision: str | None
    seen_revision: str | None
    problem: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "stack": self.key,
            "appliedRevision": self.applied_revision,
            "seenRevision": self.seen_revision,
            "ok": self.problem is None,
            "problem": self.problem,
        }


@dataclass(frozen=True)
class Overview:
    source: str  # "api" or "host"
    instance: str | None
    services: tuple[Row, ...]
    stacks: tuple[StackRow, ...] = ()
    applied_revision: str | None = None
    problems: tuple[str, ...] = ()  # the instance's own (the last sync failed, no engine)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def ok(self) -> bool:
        return (
            not self.problems
            and all(r.problem is None for r in self.services)
            and all(s.problem is None for s in self.stacks)
        )

    def ordered(self) -> list[Row]:
        """Problems first, then by key."""
        return sorted(self.services, key=lambda r: (r.problem is None, r.key))

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "instance": self.instance,
            "at": iso(self.at),
            "ok": self.ok,
            "appliedRevision": self.applied_revision,
            "problems": list(self.problems),
            "services": [r.as_json() for r in self.ordered()],
            "stacks": [s.as_json() for s in sorted(self.stacks, key=lambda s: s.key)],
        }
