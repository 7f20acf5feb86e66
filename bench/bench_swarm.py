"""The Swarm engine at scale on the shared three-node test swarm (`python -m bench swarm`).

50 services (5 stacks x 10, one task each) applied once, then:
- a warm no-op pass (manager listing, desired state, plan, execution of nothing), median of 15;
  target under 0.2 s, and it must make zero write calls;
- one-change convergence: one service's environment changed, the sync timed until Swarm's
  rolling update completed and the task runs (Swarm's default update monitor, 5 s, included).

Needs the swarm of `scripts/ensure-swarm.sh` (or the swarm-on-one-machine recipe), whose
manager address is in `/tmp/syncd-swarm/env`, and `busybox:1.36` on every node.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.common import BenchFailure, Figure, timeit_median

STACKS, SERVICES = 5, 10
TARGET_PASS_S = 0.2
IDLE = "trap 'exit 0' TERM; sleep 86400 & wait"


def manifests(root: Path, change: str) -> None:
    for stack in range(STACKS):
        lines = ["kind: Stack", "project: swbench", f"name: st{stack}", "services:"]
        for i in range(SERVICES):
            lines += [
                f"  s{stack}-{i}:",
                "    image: busybox:1.36",
                f'    command: [sh, -c, "{IDLE}"]',
                f'    environment: {{INDEX: "{i}", CHANGE: "{change if stack == i == 0 else 0}"}}',
                "    deploy: {resources: {limits: {memory: 32mb}}}",
            ]
        (root / f"st{stack}.yaml").write_text("\n".join(lines) + "\n")


def run() -> list[Figure]:
    from syncd.manifests import read_manifests
    from syncd.source.reader import read_directory
    from tests.swarm_support import SwarmDeployment, swarm_manager

    host = swarm_manager()
    if host is None:
        raise BenchFailure("no Swarm manager (/tmp/syncd-swarm/env): run scripts/ensure-swarm.sh")
    with tempfile.TemporaryDirectory() as tmp:
        swarm = SwarmDeployment(Path(tmp), host, deploy_timeout=300)
        try:
            manifests(swarm.repo, "0")
            start = time.perf_counter()
            first = swarm.sync()
            cold = time.perf_counter() - start
            if not first.ok:
                raise BenchFailure(f"the swarm apply failed: {first.failed[0].detail}")
            if len(swarm.services()) != STACKS * SERVICES:
                raise BenchFailure(f"{len(swarm.services())} services, not {STACKS * SERVICES}")
            writes: list[int] = []

            snap = read_directory(str(swarm.repo), [])
            read = read_manifests(snap.files, {}, problems=snap.problems)

            def noop() -> None:  # the manifests read once, as a daemon caches them
                swarm.requests.clear()
                result = swarm.reconciler.sync(read, "r1")
                writes.append(swarm.writes)
                if result.plan.changed or not result.ok:
                    raise BenchFailure("the no-op pass found changes")

            median, p95 = timeit_median(noop, repeat=15)
            if any(writes):
                raise BenchFailure(f"a no-op pass made write calls: {writes}")
            manifests(swarm.repo, "1")
            start = time.perf_counter()
            changed = swarm.sync("r2")
            converged = time.perf_counter() - start
            if not changed.ok:
                raise BenchFailure(f"the one-change sync failed: {changed.failed[0].detail}")
        finally:
            swarm.cleanup()
    total = STACKS * SERVICES
    return [
        Figure(
            f"swarm warm no-op pass, {total} services",
            median,
            "s",
            f"target < {TARGET_PASS_S} s; p95 {p95:.3f} s; 0 write calls",
        ),
        Figure(
            "swarm one-change convergence (1 service)",
            converged,
            "s",
            "Swarm's update monitor (5 s) included",
        ),
        Figure(f"swarm cold apply of {total} services", cold, "s", "for scale"),
    ]
