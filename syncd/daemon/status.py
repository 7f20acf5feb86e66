"""The daemon's vocabulary and the status it shows: what starts a sync, which stage failed,
and the snapshot of its state that `/v2/syncd/daemon/status` and `/healthz` answer with."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from syncd.errors import Stage, SyncFailure
from syncd.source.commits import CommitInfo
from syncd.timestamps import iso

__all__ = ["LastError", "Outcome", "Stage", "Status", "Trigger", "trigger_text"]

# Orphaned data folders are kept forever (never deleted): the status names the first ones (in
# order) and counts the rest, so its answer stays small however many revisions made them.
MAX_SHOWN_FOLDERS = 100


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
    SCHEDULE = "schedule"  # a service's updateSchedule is due (`apply.updates`)

    @property
    def routine(self) -> bool:
        """A routine check: a sync it alone starts is kept in the history only if it changed
        something."""
        return self not in (Trigger.START, Trigger.WATCH, Trigger.WEBHOOK)


def trigger_text(triggers: Iterable[Trigger]) -> str:
    """The triggers of one sync as the history, the status and the log show them."""
    return ",".join(sorted(t.value for t in triggers))


def routine(triggers: Iterable[Trigger]) -> bool:
    return all(t.routine for t in triggers)


class Outcome(StrEnum):
    """How a sync ended, in the history (`running` while it runs)."""

    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"  # a reported failure (bad manifests, Docker down, a service failed)
    CRASHED = "crashed"  # an internal error (a bug in syncd); reported the same way
    INTERRUPTED = "interrupted"  # the process died during the sync

    @classmethod
    def of(cls, failure: SyncFailure) -> Outcome:
        return cls.CRASHED if failure.crashed else cls.FAILED


@dataclass(frozen=True)
class LastError:
    """The last failure as the status shows it (`lastError`). An engine outage seen outside a
    sync has no revision and no problems (`outage`)."""

    stage: Stage
    message: str
    at: float
    revision: str | None = None
    problems: tuple[str, ...] = ()
    outage: bool = False

    @classmethod
    def of(cls, failure: SyncFailure, message: str, at: float) -> LastError:
        return cls(failure.stage, message, at, failure.revision, failure.problems)

    def as_dict(self) -> dict[str, Any]:
        if self.outage:
            return {"stage": self.stage.value, "message": self.message, "at": iso(self.at)}
        return {
            "stage": self.stage.value,
            "message": self.message,
            "revision": self.revision,
            "problems": list(self.problems),
            "at": iso(self.at),
        }


def _last_sync(last: dict[str, Any] | None) -> dict[str, Any] | None:
    """The last sync as kept (`at` in unix seconds), as answers show it."""
    if last is None or not isinstance(last.get("at"), int | float):
        return last
    return {**last, "at": iso(last["at"])}


@dataclass
class Status:
    """The daemon's state as the API shows it; each field is replaced whole, never mutated."""

    repo: str
    branch: str
    instance: str
    started_at: float
    engine_available: bool = True
    syncing: bool = False
    seen_revision: str | None = None
    applied_revision: str | None = None  # the last revision that converged without errors
    applied_commit: CommitInfo | None = None  # its subject, author and time (`notices`)
    good_revision: str | None = None  # the last revision that parsed (enforced meanwhile)
    good_revision_error: str | None = None  # why the last good revision cannot be enforced
    last_sync: dict[str, Any] | None = None
    last_error: LastError | None = None
    plan_json: dict[str, Any] | None = None
    plan_markdown: str = ""
    next_retry_in: float | None = None
    syncs: int = 0
    # data folders (project, path) no service mounts any more: kept, never deleted by a sync
    orphaned_data_folders: tuple[tuple[str, str], ...] = ()
    held: tuple[str, ...] = ()  # stacks whose changes the last execution held (`pausing`)
    pause: dict[str, Any] = field(default_factory=dict)  # mode, pauses, held stacks
    # stacks kept at their last good spec while the head's manifests of them are invalid
    broken_stacks: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # `--verify-commits`: the signers of recently verified revisions (`daemon.verifying`)
    signers: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "branch": self.branch,
            "instance": self.instance,
            "startedAt": iso(self.started_at),
            "engineAvailable": self.engine_available,
            "syncing": self.syncing,
            "seenRevision": self.seen_revision,
            "appliedRevision": self.applied_revision,
            "appliedCommit": self.applied_commit.as_dict() if self.applied_commit else None,
            "appliedSigner": self.signers.get(self.applied_revision or ""),
            "goodRevision": self.good_revision,
            "goodRevisionError": self.good_revision_error,
            "lastSync": _last_sync(self.last_sync),
            "lastError": self.last_error.as_dict() if self.last_error else None,
            "nextRetryIn": self.next_retry_in,
            "syncs": self.syncs,
            "orphanedDataFolders": [
                {"project": project, "path": path}
                for project, path in self.orphaned_data_folders[:MAX_SHOWN_FOLDERS]
            ],
            "orphanedDataFoldersNotShown": max(
                len(self.orphaned_data_folders) - MAX_SHOWN_FOLDERS, 0
            ),
            **self.pause,
            "brokenStacks": [
                {"stack": key, "problems": list(problems)}
                for key, problems in self.broken_stacks.items()
            ],
        }
