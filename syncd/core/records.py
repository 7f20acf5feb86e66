"""What syncd records (kept by `apply.store`): per service when it applies one, per stack, and
per sync. Typed rows, read by column name; the store's file format is the store's. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from syncd.core.canonical import Spec
from syncd.timestamps import iso, iso_or_none

DIGEST_PREFIX = "<digest:"  # a secret value as the store keeps it: `<digest:hmac-sha256>`
BOUND_PREFIX = DIGEST_PREFIX + "v2:"  # ... bound to its declaration (`core.declarations`)


@dataclass(frozen=True)
class ServiceRecord:
    key: str
    revision: str | None
    spec: Spec  # secret values are digests until `restore` puts the real ones back
    secrets: frozenset[str]
    container_hash: str
    applied_at: float
    result: str
    error: str | None


@dataclass(frozen=True)
class StackRecord:
    """Per stack: the revision last seen, the one last applied, and the last error."""

    key: str
    applied_revision: str | None
    seen_revision: str | None
    error: str | None
    at: float | None

    @property
    def in_sync(self) -> bool:
        """Applied what was last seen, without an error since."""
        applied = self.applied_revision
        return applied is not None and applied == self.seen_revision and not self.error

    def as_json(self) -> dict[str, Any]:
        """As `/v2/syncd/daemon/status` shows it under `stacks`."""
        return {
            "appliedRevision": self.applied_revision,
            "seenRevision": self.seen_revision,
            "error": self.error,
            "at": iso_or_none(self.at),
        }


@dataclass(frozen=True)
class SyncRecord:
    """One sync of the history: what triggered it, on which revision, how it ended, at which
    stage it failed, the plan's counts and what happened to each service. The words
    (`trigger`, `result`, `stage`) are the daemon's vocabulary, kept as the store holds them."""

    id: int
    trigger: str
    revision: str | None
    started_at: float
    duration: float | None
    result: str
    stage: str | None
    error: str | None
    summary: Mapping[str, int] = field(default_factory=dict)
    services: tuple[Mapping[str, Any], ...] = ()
    count: int = 1  # the same failure seen this many times in a row (one row: `storehistory`)
    last_seen: float | None = None  # when it was last seen (None: only once)

    def as_json(self) -> dict[str, Any]:
        """As `/v2/syncd/syncs` answers it: the store's columns, in camelCase (as every syncd
        answer), moments in ISO 8601."""
        return {
            "id": self.id,
            "trigger": self.trigger,
            "revision": self.revision,
            "startedAt": iso(self.started_at),
            "duration": self.duration,
            "result": self.result,
            "stage": self.stage,
            "error": self.error,
            "summary": dict(self.summary),
            "services": [dict(s) for s in self.services],
            "count": self.count,
            "lastSeen": iso(self.last_seen if self.last_seen is not None else self.started_at),
        }
