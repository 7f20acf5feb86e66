"""`syncd apply` against Debian's `docker-compose` (v1.29), and a warm no-op reconcile at scale.

Part 1 (whole processes, wall time, on the real engine): one 20-service stack, written once as a
syncd manifest and once as an equivalent compose file, then for each tool
  cold start (nothing exists) -> no-op re-run -> one-service change (one env value).
Each figure is a ratio syncd / compose of the median of ROUNDS rounds; target <= 1.0.

Part 2 (in-process): 50 stacks x 10 services (500 running containers) applied once, then a no-op
reconcile pass (engine listing, desired state, plan, execution of nothing) timed warm; target
under 0.1 s. compose has no equivalent: it needs one process per stack (50 of them), each costing
about its no-op figure from part 1.

Needs Docker, `docker-compose` and the `busybox:1.36` test image (`make docker-env`).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import BenchFailure, Figure, timeit_median

COMPOSE_PROJECT = "syncdbench"
INSTANCE = "bench"
SERVICES = 20
ROUNDS = 3
IDLE = "trap 'exit 0' TERM; sleep 86400 & wait"  # stops at once, for both tools alike
SCALE_STACKS, SCALE_SERVICES = 50, 10
TARGET_RATIO = 1.0
TARGET_PASS_S = 0.1


def _service(i: int, change: str) -> dict[str, object]:
    return {
        "image": "busybox:1.36",
        "command": ["sh", "-c", IDLE],
        "environment": {"INDEX": str(i), "CHANGE": change if i == 0 else "0"},
        "ports": [f"{21000 + i}:8080/tcp"] if i % 2 == 0 else [],
        "volumes": ["data:/data"] if i % 4 == 0 else [],
        "restart": "unless-stopped",
    }


def syncd_manifest(change: str) -> str:
    lines = ["kind: Stack", "project: benchstack", "services:"]
    for i in range(SERVICES):
        s = _service(i, change)
        lines += [
            f"  svc{i}:",
            f"    image: {s['image']}",
            f'    command: [sh, -c, "{IDLE}"]',
            f'    environment: {{INDEX: "{i}", CHANGE: "{change if i == 0 else "0"}"}}',
            f"    ports: {s['ports']!r}".replace("'", '"'),
            f"    volumes: {s['volumes']!r}".replace("'", '"'),
            "    restartPolicy: unless-stopped",
        ]
    lines += ["volumes:", "  data: {}", ""]
    return "\n".join(lines)


def compose_file(change: str) -> str:
    lines = ['version: "2.4"', "services:"]
    for i in range(SERVICES):
        s = _service(i, change)
        lines += [
            f"  svc{i}:",
            f"    image: {s['image']}",
            f'    command: [sh, -c, "{IDLE}"]',
            f'    environment: {{INDEX: "{i}", CHANGE: "{change if i == 0 else "0"}"}}',
            "    restart: unless-stopped",
        ]
        if s["ports"]:
            lines.append(f'    ports: ["127.0.0.1:{21000 + i}:8080/tcp"]')
        if s["volumes"]:
            lines.append('    volumes: ["data:/data"]')
    lines += ["volumes:", "  data: {}", ""]
    return "\n".join(lines)


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise BenchFailure(f"{command[0]} failed ({done.returncode}): {done.stderr[-500:]}")
    return elapsed


def _docker(*args: str) -> str:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, check=False
    ).stdout.strip()


def _remove_instance(instance: str) -> None:
    label = f"label=syncd.instance={instance}"
    ids = _docker("ps", "-aq", "--filter", label).split()
    if ids:
        _docker("rm", "-f", *ids)
    for _ in range(20):  # a network still held by a container being removed refuses at first
        left = 0
        for kind in ("volume", "network"):
            names = _docker(kind, "ls", "-q", "--filter", label).split()
            if names:
                _docker(kind, "rm", *names)
                left += len(_docker(kind, "ls", "-q", "--filter", label).split())
        if not left:
            return
        time.sleep(0.5)


class _Tools:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.repo = root / "repo"
        self.repo.mkdir()
        self.data = root / "data"
        syncd = Path(sys.executable).with_name("syncd")
        self.syncd = [str(syncd), "apply", "--repo", str(self.repo), "--instance", INSTANCE]
        self.env = {**os.environ, "SYNCD_DATA_DIR": str(self.data), "SYNCD_LOG_LEVEL": "error"}
        self.compose = ["docker-compose", "-p", COMPOSE_PROJECT, "-f", str(root / "compose.yaml")]

    def write(self, change: str) -> None:
        (self.repo / "stack.yaml").write_text(syncd_manifest(change))
        (self.root / "compose.yaml").write_text(compose_file(change))

    def reset(self) -> None:
        _run([*self.compose, "down", "-v", "--remove-orphans"], self.root)
        _remove_instance(INSTANCE)
        shutil.rmtree(self.data, ignore_errors=True)

    def round(self, tool: str) -> tuple[float, float, float]:
        self.write("0")
        self.reset()
        command = self.syncd if tool == "syncd" else [*self.compose, "up", "-d"]
        env = self.env if tool == "syncd" else None
        cold = _run(command, self.root, env)
        noop = _run(command, self.root, env)
        self.write("1")
        change = _run(command, self.root, env)
        self.reset()
        return cold, noop, change


def compare_with_compose() -> list[Figure]:
    if shutil.which("docker-compose") is None:
        raise BenchFailure("docker-compose is not installed (apt-get install docker-compose)")
    with tempfile.TemporaryDirectory() as tmp:
        tools = _Tools(Path(tmp))
        rounds = {tool: [tools.round(tool) for _ in range(ROUNDS)] for tool in ("compose", "syncd")}
    figures = []
    for index, phase in enumerate(("cold start", "no-op re-run", "one-service change")):
        ours = statistics.median(r[index] for r in rounds["syncd"])
        theirs = statistics.median(r[index] for r in rounds["compose"])
        figures.append(
            Figure(
                f"apply/compose, {SERVICES} services: {phase}",
                ours / theirs,
                "ratio",
                f"target <= {TARGET_RATIO}; syncd {ours:.2f} s, compose {theirs:.2f} s "
                f"(median of {ROUNDS})",
            )
        )
    return figures


def scale_manifests(root: Path) -> None:
    for stack in range(SCALE_STACKS):
        lines = ["kind: Stack", f"project: scale{stack % 10}", f"name: st{stack}", "services:"]
        for i in range(SCALE_SERVICES):
            lines += [
                f"  s{stack}-{i}:",
                "    image: busybox:1.36",
                f'    command: [sh, -c, "{IDLE}"]',
                f'    environment: {{STACK: "{stack}", INDEX: "{i}"}}',
                "    deploy: {resources: {limits: {memory: 32mb}}}",
            ]
        (root / f"st{stack}.yaml").write_text("\n".join(lines) + "\n")


def warm_noop_pass() -> list[Figure]:
    from syncd.apply.reconcile import Reconciler
    from syncd.apply.store import Store
    from syncd.engine.docker import DockerEngine
    from syncd.manifests import read_manifests
    from syncd.settings import Settings
    from syncd.source.reader import read_directory

    instance = "benchscale"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        scale_manifests(root)
        snap = read_directory(str(root))
        manifests = read_manifests(snap.files, {}, problems=snap.problems)
        settings = Settings(data_dir=root / "data", instance=instance, stop_timeout=1)
        engine = DockerEngine(instance)
        store = Store(settings.state_file)
        reconciler = Reconciler(settings, engine, store, {})
        try:
            start = time.perf_counter()
            first = reconciler.sync(manifests, "r1")
            cold = time.perf_counter() - start
            if not first.ok:
                raise BenchFailure(f"scale apply failed: {first.failed[0].detail}")
            running = _docker("ps", "-q", "--filter", f"label=syncd.instance={instance}")
            count = len(running.split())
            if count != SCALE_STACKS * SCALE_SERVICES:
                raise BenchFailure(f"{count} containers run, not {SCALE_STACKS * SCALE_SERVICES}")

            def noop() -> None:
                result = reconciler.sync(manifests, "r1")
                if result.plan.changed or not result.ok:
                    raise BenchFailure("the no-op pass found changes")

            median, p95 = timeit_median(noop, repeat=15)
        finally:
            store.close()
            engine.close()
            _remove_instance(instance)
    total = SCALE_STACKS * SCALE_SERVICES
    return [
        Figure(
            f"warm no-op reconcile, {SCALE_STACKS}x{SCALE_SERVICES} = {total} containers",
            median,
            "s",
            f"target < {TARGET_PASS_S} s; p95 {p95:.3f} s; compose: {SCALE_STACKS} processes, "
            "one per stack",
        ),
        Figure(f"cold apply of {total} containers (in-process)", cold, "s", "for scale"),
    ]


def run() -> list[Figure]:
    if shutil.which("docker") is None or not _docker("version", "--format", "{{.Server.Version}}"):
        raise BenchFailure("no Docker engine is reachable (make docker-env)")
    return [*compare_with_compose(), *warm_noop_pass()]
