"""`--rollback=revision`: a sync in which a service's replace rolled back returns every service it
changed to the last good revision, and the head is held until its backoff ends.

The failing spec is remembered by the flap guard (`apply.flapguard`) like any rollback; while its
backoff runs, the head's plan holds that service (`Reason.HELD`). With the revision scope a held
service holds the whole head: nothing of it runs, the last good revision is enforced instead,
and the sync fails at stage `apply` naming the service, the retry time and (until a restart)
why it rolled back. Once the backoff ends
the head is tried again, whole.
"""

from __future__ import annotations

from collections.abc import Callable

from syncd import logs
from syncd.apply.reconcile import Planned, Reconciler, SyncResult
from syncd.core.plan import Reason, ServiceChange
from syncd.daemon.revisions import Parsed
from syncd.errors import SyncdError
from syncd.settings import RollbackScope


def held(planned: Planned) -> list[ServiceChange]:
    """The head's services whose spec rolled back within its backoff."""
    return [c for s in planned.plan.stacks for c in s.services if c.reason is Reason.HELD]


class Revert:
    """Runs under the reconciler's lock, inside the pipeline's plan stage."""

    def __init__(
        self,
        reconciler: Reconciler,
        good: Callable[[], Parsed | None],
        publish: Callable[[Parsed], None],
    ) -> None:
        self.reconciler = reconciler
        self.good = good  # the revision self-heal enforces
        self.publish = publish
        self.rolled: tuple[str, str] | None = None  # the last revision that rolled back, and why

    @property
    def active(self) -> bool:
        return self.reconciler.settings.rollback is RollbackScope.REVISION

    def hold(self, planned: Planned, revision: str) -> None:
        """Before the head runs: a held service holds it whole (a `SyncdError`)."""
        changes = held(planned)
        if not self.active or not changes:
            return
        target = self._target(revision)
        if target is None:
            return  # nothing to return to: the service scope's hold applies
        why = "; ".join(f"{c.key}: {c.note or c.reason_text}" for c in changes[:5])
        if self.rolled is not None and self.rolled[0] == revision:  # (not after a restart)
            why += f" (it rolled back: {self.rolled[1]})"
        self._enforce(target)
        raise SyncdError(  # a failure of stage `apply`: the last good revision runs
            f"revision {revision[:12]} held, the last good revision {target.revision[:12]} "
            f"runs: {why}"
        )

    def after(self, result: SyncResult, revision: str) -> None:
        """After the head ran: a rollback in it returns its changes to the last good revision."""
        if not self.active or not result.rolled_back:
            return
        target = self._target(revision)
        if target is None:
            return
        why = "; ".join(f"{r.key}: {r.detail}" for r in result.rolled_back[:5])
        self.rolled = revision, why  # the held passes that follow say why
        logs.get().warning(
            "revision_rolled_back",
            revision=revision,
            to=target.revision,
            services=[str(r.key) for r in result.rolled_back],
        )
        self._enforce(target)
        raise SyncdError(  # a failure of stage `apply`: the last good revision runs
            f"revision {revision[:12]} rolled back to the last good revision "
            f"{target.revision[:12]}: {why}"
        )

    def _target(self, revision: str) -> Parsed | None:
        good = self.good()
        return good if good is not None and good.revision != revision else None

    def _enforce(self, good: Parsed) -> None:
        rec = self.reconciler
        observed = rec.engine.observe()
        desired = rec.resolve(good.manifests, good.revision, observed)
        # it ran before: the services the head added leave again
        planned = rec.plan_for(desired, observed, allow_empty=True)
        rec.check_guard(planned)
        rec.execute(planned)
        self.publish(good)
