"""The daemon's vocabulary and the status it shows: what starts a sync, which stage failed,
and the snapshot of its state that `/v2/syncd/status` and `/healthz` answer with."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Trigger(StrEnum):
    START = "start"
    WATCH = "watch"
    POLL = "poll"
    WEBHOOK = "webhook"
    DRIFT = "drift"
    DOCKER_EVENT = "docker_event"
    RETRY = "retry"
    ENGINE_BACK = "engine_back"
    OPERATOR = "operator"


class Stage(StrEnum):
    FETCH = "fetch"
    PARSE = "parse"
    PLAN = "plan"
    APPLY = "apply"
    HEALTH = "health"
    ENGINE = "engine"


@dataclass
class Status:
    """The daemon's state as the API shows it (replaced whole, never mutated in place)."""

    repo: str
    branch: str
    instance: str
    started_at: float
    engine_available: bool = True
    syncing: bool = False
    seen_revision: str | None = None
    applied_revision: str | None = None  # the last revision that converged without errors
    good_revision: str | None = None  # the last revision that parsed (enforced meanwhile)
    last_sync: dict[str, Any] | None = None
    last_error: dict[str, Any] | None = None
    plan_json: dict[str, Any] | None = None
    plan_markdown: str = ""
    next_retry_in: float | None = None
    syncs: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "branch": self.branch,
            "instance": self.instance,
            "startedAt": self.started_at,
            "engineAvailable": self.engine_available,
            "syncing": self.syncing,
            "seenRevision": self.seen_revision,
            "appliedRevision": self.applied_revision,
            "goodRevision": self.good_revision,
            "lastSync": self.last_sync,
            "lastError": self.last_error,
            "nextRetryIn": self.next_retry_in,
            "syncs": self.syncs,
        }
