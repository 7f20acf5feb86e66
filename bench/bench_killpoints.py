"""`syncd apply` killed with SIGKILL at N random points (issue 15), for the report.

The three paths of tests/killpoints.py side by side, each on an instance of its own: a normal
apply (recreate, create/remove, volume, `service_healthy` gate), a recreate whose new host port
is held (rollback), a start-first replace of two replicas. After every kill the next apply must
converge (one running container per service and replica, no set-aside container, seed files and
volumes unchanged, a further plan empty); a broken invariant raises, so the figures are only
reported for a run that held them all.

N = `SYNCD_BENCH_KILL_POINTS` (default 51, shared by the paths); `SYNCD_CRASH_SEED` picks the
delays. Figures: kill points per path and where they landed (`tests.killpoints.LANDINGS`:
`aside` = a set-aside container present, inside a replace window; `incomplete` = a service
missing, duplicated or down; `untouched` = nothing changed yet; `replaced` = a whole revision
with new or restarted containers), and the wall time. Needs Docker and `busybox:1.36`.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import docker
import docker.errors

from bench.common import BenchFailure, Figure

KILLS = int(os.environ.get("SYNCD_BENCH_KILL_POINTS", "51"))


def run() -> list[Figure]:
    from tests.killpoints import LANDINGS, kill_everywhere

    try:
        client = docker.from_env()
        client.images.get("busybox:1.36")
    except docker.errors.DockerException as err:
        raise BenchFailure(f"needs Docker and busybox:1.36 (make docker-env): {err}") from err
    seed = int(os.environ.get("SYNCD_CRASH_SEED", "4"))
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="syncd-kill-") as tmp:
        try:
            tallies = kill_everywhere(Path(tmp), client, KILLS, seed)
        except AssertionError as err:
            raise BenchFailure(f"an invariant broke after a kill: {err}") from err
        finally:
            client.close()
    figures = []
    for tally in tallies:
        low, high = tally.window
        landed = ", ".join(f"{name} {tally.landed[name]}" for name in LANDINGS)
        figures.append(
            Figure(
                f"kill: {tally.path}: kill points",
                tally.kills,
                "kills",
                f"{landed}; delays {low:.2f}-{high:.2f} s; {tally.seconds:.0f} s",
            )
        )
    total = sum(t.kills for t in tallies)
    figures.append(Figure("kill: all paths", total, "kills", "target >= 50; every invariant held"))
    figures.append(Figure("kill: wall time", time.monotonic() - began, "s", "target ~90 s"))
    return figures
