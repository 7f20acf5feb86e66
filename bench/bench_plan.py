"""Planning 100 stacks x 10 services against a live state where 10 % of services drifted.

Target (issue 3): the plan step under 0.2 s on the 2-core reference machine.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from bench.common import BenchFailure, Figure, timeit_median
from bench.gen import generate_repo
from syncd.core.desired import DesiredState, resolve
from syncd.core.live import LiveState, ServiceStatus
from syncd.core.plan import Action, as_live, plan
from syncd.manifests import read_manifests
from syncd.source.reader import read_directory

STACKS, SERVICES = 100, 10
TARGET_S = 0.2


def _desired(root: Path) -> DesiredState:
    snap = read_directory(root)
    manifests = read_manifests(snap.files, env={}, problems=snap.problems)
    return resolve(manifests, "head", None)


def _drifted(state: DesiredState) -> tuple[LiveState, int]:
    """Every 10th service drifted: every 20th has another env value, the others are stopped."""
    live = as_live(state)
    drifted = 0
    stacks = {}
    for number, (key, stack) in enumerate(sorted(live.stacks.items())):
        services = dict(stack.services)
        for index, (name, service) in enumerate(sorted(services.items())):
            if (number + index) % 10:
                continue
            drifted += 1
            if drifted % 2:
                spec = {**service.spec, "environment": {"DRIFT": "1"}}
                services[name] = dataclasses.replace(service, spec=spec)
            else:
                services[name] = dataclasses.replace(service, status=ServiceStatus.STOPPED)
        stacks[key] = dataclasses.replace(stack, services=services)
    return LiveState(stacks, live.networks), drifted


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="syncd-bench-plan-") as tmp:
        root = Path(tmp)
        generate_repo(root, stacks=STACKS, services=SERVICES)
        desired = _desired(root)
    live, drifted = _drifted(desired)
    result = plan(desired, live)
    acted = sum(1 for s in result.stacks for c in s.services if c.action is not Action.NONE)
    if acted != drifted:
        raise BenchFailure(f"{drifted} services drifted but the plan acts on {acted}")
    median, p95 = timeit_median(lambda: plan(desired, live), repeat=7)
    noop_live = as_live(desired)
    noop, _ = timeit_median(lambda: plan(desired, noop_live), repeat=7)
    size = f"{STACKS} stacks x {SERVICES} services"
    return [
        Figure(
            f"plan: {size}, 10 % drift ({drifted} services)",
            median,
            "s",
            f"target < {TARGET_S} s ({'met' if median < TARGET_S else 'MISSED'}); p95 {p95:.3f} s",
        ),
        Figure(f"plan: {size}, no drift", noop, "s", f"target < {TARGET_S} s"),
    ]
