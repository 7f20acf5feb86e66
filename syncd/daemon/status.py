"""The daemon's vocabulary and the status it shows: what starts a sync, which stage failed,
and the snapshot of its state that `/v2/syncd/daemon/status` and `/healthz` answer with."""

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
    """The step of a sync that failed. A failure before the head revision has a plan (fetch,
    parse, resolve, plan) falls back to the last good revision; of those, parse, resolve and
    plan are the revision's own and wait for a new commit, the others are retried."""

    FETCH = "fetch"  # reading the branch head and its files from git
    PARSE = "parse"  # manifests, and resolving them (StackPatch ops, interpolation)
    RESOLVE = "resolve"  # an internal error while resolving the desired state
    PLAN = "plan"  # comparing with what runs; a refused plan
    APPLY = "apply"
    HEALTH = "health"
    ENGINE = "engine"
    RECORD = "record"  # storing the result


class Outcome(StrEnum):
    """How a sync ended, in the history (`running` while it runs)."""

    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"  # a reported failure (bad manifests, Docker down, a service failed)
    CRASHED = "crashed"  # an internal error (a bug in syncd); reported the same way
    INTERRUPTED = "interrupted"  # the process died during the sync


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
    good_revision_error: str | None = None  # why the last good revision cannot be enforced
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
            "goodRevisionError": self.good_revision_error,
            "lastSync": self.last_sync,
            "lastError": self.last_error,
            "nextRetryIn": self.next_retry_in,
            "syncs": self.syncs,
        }
