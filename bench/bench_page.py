"""The status page for 100 stacks x 10 services (1,000 rows): gathering what it shows from a
snapshot and its view (`pagedata.gather`), and rendering the content every open page fetches
again on each change (`pagehtml.content`), with a history of 30 syncs.

Target (issue 18): one refresh under 0.25 s on the 2-core reference machine, so eight open pages
refreshing at once after a sync cost the daemon well under two seconds of one core.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.common import BenchFailure, Figure, timeit_median
from bench.gen import generate_repo
from syncd.api.pagedata import gather
from syncd.api.pagehtml import content
from syncd.api.view import build
from syncd.core.desired import DesiredState, resolve
from syncd.core.observe import observe
from syncd.core.records import SyncRecord
from syncd.daemon.snapshot import DaemonSnapshot
from syncd.daemon.status import Status
from syncd.engine.base import ContainerState, Names, Observed, ObservedContainer
from syncd.manifests import read_manifests
from syncd.source.reader import read_directory

STACKS, SERVICES, SYNCS = 100, 10, 30
TARGET_S = 0.25


def _desired(root: Path) -> DesiredState:
    snap = read_directory(root)
    manifests = read_manifests(snap.files, env={}, problems=snap.problems)
    return resolve(manifests, "head", None)


def _snapshot(desired: DesiredState) -> DaemonSnapshot:
    """Every service running, as the engine would list it."""
    names = Names("bench")
    keys = [s.key for stack in desired.stacks.values() for s in stack.services.values()]
    observed = Observed(
        containers=tuple(
            ObservedContainer(
                id=f"{n:064x}", name=names.container(key), key=key, hash="h", revision="head",
                image_id="sha256:" + "0" * 64, state=ContainerState.RUNNING, health=None,
                created=time.time() - 3600,
            )
            for n, key in enumerate(keys)
        )
    )  # fmt: skip
    return DaemonSnapshot(
        desired=desired,
        observation=observe(observed, {}, desired=desired),
        observed=observed,
        plan=None,
        records={},
        instance="bench",
        built_at=time.time(),
    )


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="syncd-bench-page-") as tmp:
        root = Path(tmp)
        generate_repo(root, stacks=STACKS, services=SERVICES)
        desired = _desired(root)
    snapshot = _snapshot(desired)
    view = build(snapshot)
    status = Status(repo="/srv/repo.git", branch="main", instance="bench", started_at=0.0)
    now = time.time()
    syncs = [
        SyncRecord(i, "watch", "head", now - 60 * i, 0.5 + i % 7, "ok", None, None)
        for i in range(SYNCS)
    ]

    def refresh() -> str:
        data = gather(status, snapshot=snapshot, view=view, stacks={}, syncs=syncs, now=now)
        return content(data, now)

    html = refresh()
    rows = html.count('<tr class="service ')
    if rows != STACKS * SERVICES:
        raise BenchFailure(f"{rows} service rows on the page, not {STACKS * SERVICES}")
    median, p95 = timeit_median(refresh, repeat=7)
    return [
        Figure(
            f"status page refresh: {STACKS} stacks x {SERVICES} services, {SYNCS} syncs",
            median,
            "s",
            f"target < {TARGET_S} s ({'met' if median < TARGET_S else 'MISSED'}); "
            f"p95 {p95:.3f} s; {len(html) // 1024} KiB of HTML",
        )
    ]
