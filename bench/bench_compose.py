"""Validate + plan of 100 Compose stacks x 10 services (issue 13: under 0.5 s).

The repo (`bench.gen_compose`) is read as `syncd plan --base ... --head ...` reads a revision:
`read_manifests` (YAML 1.2 load, interpolation, extends, conversion to `Stack`, the model's
checks), `resolve` (desired state) and `plan` against the base revision, where every 10th stack
changed one variable. Set-up (writing files, the base revision) is not timed.

Each timed run is a cold validate + plan of the head: nothing read, converted, resolved or
planned is kept from one call to the next, so a second run does no less work than the first.
Only small bounded memo tables of pure functions live across calls, as in the daemon: of short
texts (a plain scalar's YAML 1.2 tag, a port's canonical text, a mount's and a port's parsed
form, a key's camelCase spelling) and the parsed body of the last 8 files an `extends`/`include`
read (here the one shared file, which every run would otherwise parse once: under 1 % of a run).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.common import BenchFailure, Figure, timeit_median
from bench.gen import generate_repo
from bench.gen_compose import generate_compose_repo
from syncd.core.desired import DesiredState, resolve
from syncd.core.live import LiveState
from syncd.core.plan import Plan, as_live, plan
from syncd.manifests import ManifestSet, read_manifests
from syncd.source.reader import SourceFile, read_directory

STACKS, SERVICES, PROJECTS = 100, 10, 10
TARGET_S = 0.5
REPEAT = 5


def _read(files: Sequence[SourceFile], env: dict[str, str]) -> ManifestSet:
    manifests = read_manifests(files, env)
    if manifests.errors:
        shown = "; ".join(str(p) for p in manifests.errors[:3])
        raise BenchFailure(f"generated Compose repo has {len(manifests.errors)} error(s): {shown}")
    services = sum(len(s.manifest.services) for s in manifests.stacks)
    if (len(manifests.stacks), services) != (STACKS, STACKS * SERVICES):
        raise BenchFailure(f"read {len(manifests.stacks)} stacks, {services} services")
    return manifests


def _validate_and_plan(files: Sequence[SourceFile], env: dict[str, str], live: LiveState) -> Plan:
    desired = resolve(_read(files, env), "head", None)
    return plan(desired, live, base="base")


def _native(files: Sequence[SourceFile]) -> Plan:
    """The same pipeline over native `Stack` files of the same size (`bench.gen`): the baseline."""
    desired = resolve(read_manifests(files, {}), "head", None)
    return plan(desired, as_live(desired))


def _base(files: Sequence[SourceFile]) -> DesiredState:
    return resolve(_read(files, {}), "base", None)


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="syncd-bench-compose-") as tmp:
        root = Path(tmp)
        generate_compose_repo(root, STACKS, SERVICES, PROJECTS)
        snapshot = read_directory(root)
        if snapshot.problems:
            raise BenchFailure(f"reading the generated repo: {snapshot.problems[0]}")
        files = snapshot.files
        generate_repo(root / "native", STACKS, SERVICES, PROJECTS)
        native_files = read_directory(root / "native").files
    live = as_live(_base(files))
    changed = [f for f in files if f.path.endswith("compose.yaml")][::10]
    head = [
        SourceFile(f.path, f.data.replace(b"LOG_LEVEL:-info", b"LOG_LEVEL:-debug"))
        if f in changed
        else f
        for f in files
    ]
    result = _validate_and_plan(head, {}, live)
    recreated = result.counts().get("recreate", 0)
    if recreated != len(changed) * (SERVICES - 2):
        raise BenchFailure(f"{len(changed)} stacks changed, the plan recreates {recreated}")
    median, p95 = timeit_median(lambda: _validate_and_plan(head, {}, live), REPEAT)
    read, _ = timeit_median(lambda: _read(head, {}), REPEAT)
    native, _ = timeit_median(lambda: _native(native_files), REPEAT)
    size = f"{STACKS} Compose stacks x {SERVICES} services"
    met = "met" if median < TARGET_S else "MISSED"
    return [
        Figure(
            f"compose: validate + plan, {size}",
            median,
            "s",
            f"target < {TARGET_S} s ({met}); p95 {p95:.3g} s; native Stack files of the same "
            f"size: {native:.3g} s (Compose {median / native:.2f}x)",
        ),
        Figure(
            f"compose: read_manifests alone, {size}",
            read,
            "s",
            f"of the {median:.3g} s above; the rest is resolve + plan",
        ),
    ]
