"""A partial revision applied (`manifests.isolate`): the per-stack records and the failure it
reports. Its valid stacks are applied; its broken ones keep their last good spec and show their
own located problems (the store's per-stack rows, `/v2/syncd/daemon/status` `brokenStacks`).
The sync still ends as a failure of the parse stage: the revision is not a good one, and waits
for a new commit (meanwhile the partial revision is enforced, broken stacks included)."""

from __future__ import annotations

from syncd.apply.execute import SyncResult
from syncd.apply.store import Store
from syncd.daemon.status import Status
from syncd.errors import PermanentFailure, Stage
from syncd.manifests.isolate import PartialSet

MAX_SHOWN = 20  # problems per broken stack in its record and the status


def report(
    partial: PartialSet, revision: str, result: SyncResult, store: Store, status: Status
) -> PermanentFailure:
    """Record each stack of `partial`, applied at `revision`; the failure to report."""
    failed = {r.key.stack_key for r in result.failed}
    for located in partial.valid.stacks:
        key = located.manifest.key
        ok = key not in failed
        error = None if ok else "; ".join(f"{r.key}: {r.detail}" for r in result.failed)
        store.set_stack(str(key), seen=revision, applied=revision if ok else None, error=error)
    kept_at = (partial.kept_revision or "")[:12]
    broken: dict[str, tuple[str, ...]] = {}
    for key, found in partial.broken.items():
        shown = tuple(str(p) for p in found[:MAX_SHOWN])
        broken[str(key)] = shown
        more = f" (and {len(found) - len(shown)} more)" if len(found) > len(shown) else ""
        error = f"kept at the last good revision {kept_at}: " + "; ".join(shown) + more
        store.set_stack(str(key), seen=revision, error=error)
    status.broken_stacks = broken
    names = ", ".join(broken)
    message = (
        f"revision {revision[:12]} has invalid manifests in stacks {names}: they keep their "
        f"last good spec ({kept_at}), the other stacks are applied; "
    )
    problems = [p for shown in broken.values() for p in shown]
    message += "; ".join(problems[:5])
    return PermanentFailure(Stage.PARSE, message, revision=revision, problems=problems)
