"""`syncd apply --rollback=revision`: when a service's replace rolls back, every service the
apply changed returns to the last good revision (the one the instance's store records, read again
from the repository); a later apply of the same revision within the flap guard's backoff is
refused whole. Without a last good revision (or with the default `service` scope) the failing
service alone rolls back."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from syncd.apply.execute import SyncResult
from syncd.apply.reconcile import Planned, Reconciler
from syncd.cli import commands
from syncd.core.plan import Reason
from syncd.errors import ManifestError, SyncdError
from syncd.settings import RollbackScope


def holding(
    rec: Reconciler, revision: str | None, then: Callable[[Planned], None]
) -> Callable[[Planned], None]:
    """`--rollback=revision`: a head holding a spec that rolled back within its backoff is
    refused whole (nothing applied), naming the service and the retry time; then `then`."""

    def check(planned: Planned) -> None:
        held = [c for s in planned.plan.stacks for c in s.services if c.reason is Reason.HELD]
        if rec.settings.rollback is RollbackScope.REVISION and held:
            good = rec.store.good_revision()
            if good is not None and good != revision:
                why = "; ".join(f"{c.key}: {c.note or c.reason_text}" for c in held[:5])
                raise SyncdError(
                    f"--rollback=revision: nothing applied, the last good revision "
                    f"{good[:12]} stays: {why}"
                )
        then(planned)

    return check


def revert(
    args: argparse.Namespace, rec: Reconciler, revision: str | None, result: SyncResult
) -> SyncResult | None:
    """`--rollback=revision`: a replace rolled back, so every service this apply changed returns
    to the last good revision recorded in the store (None: nothing to return to)."""
    if rec.settings.rollback is not RollbackScope.REVISION or not result.rolled_back:
        return None
    good_revision = rec.store.good_revision()
    if good_revision is None or good_revision == revision:
        print("syncd: --rollback=revision: no earlier good revision; the service rolled back "
              "alone", file=sys.stderr)  # fmt: skip
        return None
    try:
        good, _ = commands.manifests_at(args, good_revision)
    except (ManifestError, SyncdError) as err:
        print(f"syncd: --rollback=revision: the last good revision {good_revision[:12]} cannot "
              f"be read ({err}); the service rolled back alone", file=sys.stderr)  # fmt: skip
        return None
    failed = ", ".join(str(r.key) for r in result.rolled_back)
    print(f"syncd: {failed} rolled back: returning every change to the last good revision "
          f"{good_revision[:12]}", file=sys.stderr)  # fmt: skip
    return rec.sync(good, good_revision, allow_empty=True)
