"""`syncd apply` of a revision whose errors are confined to some stacks (`manifests.isolate`):
the valid stacks apply, the broken ones keep their last good spec (the revision the daemon
recorded as last good in the instance's store, read again from the repository), and the
command exits 1 naming each broken stack with its problems. Without a last good revision
that the repository still holds, or with an error no stack owns, nothing is applied. A git
revision applied whole becomes the last good one."""

from __future__ import annotations

import argparse
import sys

from syncd.apply.execute import SyncResult
from syncd.apply.store import Store
from syncd.cli import commands
from syncd.errors import ExitCode, ManifestError, SyncdError
from syncd.manifests import ManifestSet
from syncd.manifests.isolate import PartialSet, isolate
from syncd.settings import Settings


def manifests_for_apply(
    args: argparse.Namespace, rev: str | None, settings: Settings
) -> tuple[ManifestSet, str | None]:
    """The revision's manifests, a `PartialSet` when only some stacks are broken, or
    `ManifestError` (with `held` saying why nothing applies)."""
    snap = commands.snapshot(args.repo, rev, args.path)
    manifests = commands.read_snapshot(args, snap)
    if not manifests.errors:
        return manifests, snap.revision
    good_revision = None
    if settings.state_file.is_file():
        store = Store(settings.state_file)
        try:
            good_revision = store.good_revision()
        finally:
            store.close()
    good: ManifestSet | None = None
    if good_revision is not None and good_revision != snap.revision:
        try:
            good, _ = commands.manifests_at(args, good_revision)
        except (ManifestError, SyncdError):  # gone from the repository (or a plain directory)
            good = None
    return isolate(manifests, good, good_revision if good else None), snap.revision


def record_good(
    store: Store, manifests: ManifestSet, revision: str | None, result: SyncResult
) -> None:
    """A git revision applied whole and without failures: the last good one, which broken
    stacks of a later revision keep (as the daemon records it)."""
    whole = not isinstance(manifests, PartialSet)
    if whole and revision is not None and result.ok and not result.dry_run:
        store.set_good_revision(revision)


def report_broken(manifests: ManifestSet) -> ExitCode | None:
    """Exit 1 naming the broken stacks of a partial revision (None: it was whole)."""
    if not isinstance(manifests, PartialSet):
        return None
    kept = (manifests.kept_revision or "")[:12]
    for key, problems in manifests.broken.items():
        print(
            f"syncd: stack {key} not applied (invalid manifests; kept at {kept}):",
            file=sys.stderr,
        )
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
    return ExitCode.ERROR
