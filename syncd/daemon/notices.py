"""What the daemon tells the world about each sync, after the history has recorded it: the
applied commit's subject, author and time in the status; the revision's commit status on the
git host (pending when its sync starts, then success or failure with the stage); and a JSON
event to each webhook for every sync the history keeps. Everything leaves through an `Outbox`
(never blocking a sync), and everything is read from the status the history wrote (errors
already redacted) and scrubbed once more of every known secret value."""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import OrderedDict
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry

from syncd import logs, taint
from syncd.apply.execute import SyncResult
from syncd.daemon.commitstatus import CommitState, CommitStatuses, TokenFile
from syncd.daemon.history import services_failure
from syncd.daemon.metrics import Metrics
from syncd.daemon.notifyconfig import NotifySettings
from syncd.daemon.outbox import Delivery, Outbox, OutboxMetrics, host_of
from syncd.daemon.pipeline import Attempt
from syncd.daemon.status import Status
from syncd.errors import ExitCode, Stage, StartupError, SyncdError, SyncFailure
from syncd.source.commits import CommitInfo, clean_text, repo_path_of
from syncd.source.repository import Repository
from syncd.timestamps import iso

MAX_PROBLEMS = 20  # problems an event carries (the status route has them all)
MAX_MESSAGE = 2000
MAX_STACKS = 200
COMMITS_CACHED = 16


def loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def counts_text(counts: dict[str, int]) -> str:
    done = [f"{n} {action}" for action, n in counts.items() if n]
    return ", ".join(done) if done else "nothing to change"


class Notifier:
    def __init__(
        self,
        settings: NotifySettings,
        repo: Repository,
        status: Status,
        metrics: Metrics,
        stop: threading.Event,
    ) -> None:
        """Raises `StartupError` when a setting cannot be used (the token, the repository)."""
        try:
            self._start(settings, repo, status, metrics.registry, stop)
        except SyncdError as err:
            raise StartupError(str(err), ExitCode.CONFIG) from err

    def _start(
        self,
        settings: NotifySettings,
        repo: Repository,
        status: Status,
        registry: CollectorRegistry,
        stop: threading.Event,
    ) -> None:
        self.settings = settings
        self.repo = repo
        self.status = status
        self.log = logs.get()
        self._commits: OrderedDict[str, CommitInfo | None] = OrderedDict()
        self._failure: tuple[str | None, str] | None = None  # the last failure reported
        self.outboxes: list[Outbox] = []
        metrics = OutboxMetrics(registry) if settings.commit_status or settings.webhooks else None
        self.statuses: CommitStatuses | None = None
        if settings.commit_status is not None and metrics is not None:
            cs = settings.commit_status
            path = cs.repo or repo_path_of(repo.origin_url() or "")
            if path is None:
                raise SyncdError(
                    "--commit-status: the repository's OWNER/NAME cannot be read from its "
                    "remote URL; give --git-host-repo"
                )
            if cs.api.startswith("http://") and not loopback(cs.api):
                self.log.warning("git_host_api_not_https", host=host_of(cs.api))
            outbox = Outbox("commit_status", host_of(cs.api), metrics, stop)
            self.outboxes.append(outbox)
            context = clean_text(f"syncd/{status.instance}", 100)
            token = TokenFile(cs.token_file)
            self.statuses = CommitStatuses(cs, path, token, context, settings.status_url, outbox)
        self.webhooks: list[tuple[str, Outbox]] = []
        for url in settings.webhooks:
            assert metrics is not None
            if url.startswith("http://") and urlsplit(url).username and not loopback(url):
                self.log.warning("notify_webhook_password_not_https", host=host_of(url))
            outbox = Outbox("webhook", host_of(url), metrics, stop)
            self.outboxes.append(outbox)
            self.webhooks.append((url, outbox))

    def commit(self, revision: str) -> CommitInfo | None:
        """`revision`'s commit (a few recent ones are kept)."""
        if revision in self._commits:
            self._commits.move_to_end(revision)
            return self._commits[revision]
        info = self.repo.commit_info(revision)
        self._commits[revision] = info
        while len(self._commits) > COMMITS_CACHED:
            self._commits.popitem(last=False)
        return info

    # -- called by the sync loop: never raise, never block ---------------------------------------

    def seen(self, revision: str) -> None:
        """The sync has read the head: its commit status is pending."""
        try:
            if self.statuses is not None:
                self.statuses.started(revision)
        except Exception as err:
            self.log.error("notify_crashed", error=type(err).__name__)

    def ended(
        self, attempt: Attempt, result: SyncResult | None, failure: SyncFailure | None
    ) -> None:
        """The sync is recorded: show the applied commit, and report the outcome."""
        try:
            self._ended(attempt, result, failure)
        except Exception as err:
            self.log.error("notify_crashed", error=type(err).__name__)

    def _ended(
        self, attempt: Attempt, result: SyncResult | None, failure: SyncFailure | None
    ) -> None:
        applied = self.status.applied_revision
        shown = self.status.applied_commit
        if applied is not None and (shown is None or shown.revision != applied):
            self.status.applied_commit = self.commit(applied)
        if failure is None and self.status.held:
            return  # changes held (paused, detect mode): the revision is not synced
        if failure is None and result is not None:
            failure = services_failure(result, attempt.revision)
        elif failure is None:
            return
        revision = attempt.revision
        if failure is None:
            state, stage = CommitState.SUCCESS, None
            assert result is not None
            description = f"synced: {counts_text(result.plan.counts())}"
        else:
            state = CommitState.ERROR if failure.crashed else CommitState.FAILURE
            stage = failure.stage
            first = failure.problems[0] if failure.problems else failure.message
            description = clean_text(f"{stage} failed: {taint.scrub_known(first)}", 500)
        if revision is not None and self.statuses is not None:
            self.statuses.ended(revision, state, stage.value if stage else None, description)
        # the same failure again (a retry, an engine outage): one event, until it changes
        repeated = failure is not None and self._failure == (revision, failure.message)
        self._failure = (revision, failure.message) if failure is not None else None
        if attempt.kept and self.webhooks and not repeated:
            event = self.event(attempt, result, failure, stage)
            secret = self.settings.webhook_secret
            sign = secret.encode() if secret else None
            for url, outbox in self.webhooks:
                outbox.put(partial(Delivery, url, event, sign=sign))

    def event(
        self,
        attempt: Attempt,
        result: SyncResult | None,
        failure: SyncFailure | None,
        stage: Stage | None,
    ) -> dict[str, Any]:
        revision = attempt.revision
        commit = self.commit(revision) if revision else None
        error = None
        if failure is not None:
            error = {
                "stage": failure.stage.value,
                "message": clean_text(taint.scrub_known(failure.message), MAX_MESSAGE),
                "problems": [
                    clean_text(taint.scrub_known(p), MAX_MESSAGE)
                    for p in failure.problems[:MAX_PROBLEMS]
                ],
                "problemsNotShown": max(len(failure.problems) - MAX_PROBLEMS, 0),
            }
        plan = result.plan if result is not None else None
        stacks = [str(s.key) for s in plan.stacks if s.changed] if plan else []
        failed = [str(r.key) for r in result.failed] if result is not None else []
        return {
            "event": "sync_failed" if failure is not None else "sync_succeeded",
            "instance": self.status.instance,
            "repo": self.status.repo,
            "branch": self.status.branch,
            "revision": revision,
            "commit": commit.as_dict() if commit else None,
            "trigger": attempt.trigger,
            "result": ("crashed" if failure.crashed else "failed") if failure else "ok",
            "stage": stage.value if stage else None,
            "stacks": stacks[:MAX_STACKS],
            "counts": plan.counts() if plan else None,
            "failedServices": failed[:MAX_STACKS],
            "error": error,
            "enforcing": self.status.good_revision if failure is not None else revision,
            "duration": round(attempt.duration, 3),
            "at": iso(time.time()),  # ISO 8601 in UTC, as every answer of syncd's
            "statusUrl": self.settings.status_url,
        }
