"""`syncd apply` killed with SIGKILL at random points of three paths (issue 15), shared by
tests/test_interrupted.py and bench/bench_killpoints.py.

The paths, one `Path` each, each on an instance of its own:
- `apply`: a normal apply: every service recreated (stop-first), a volume with a seed file, a
  `service_healthy` gate, and a service created and removed in turn;
- `rollback`: a stop-first recreate whose new container cannot start, its new host port being
  held by a listener this module binds on 127.0.0.1 (the old container is set aside and comes
  back: a rollback);
- `start-first`: a Compose service with `deploy.update_config.order: start-first` and two
  replicas, whose env changes each round: the set-aside old and the new container run at once.

A round writes the next revision, starts `syncd apply` and kills it after a delay drawn
uniformly inside the path's window (measured first: from half a no-op plan's time to the end
of an unkilled apply of a change), records what the engine showed at the kill (a set-aside
container = inside a replace window), then (after releasing the held port) runs an apply that
is not killed and checks: exit 0, one running container per service and replica at the new
revision, no set-aside or leftover container, every seed file and volume unchanged, and a
further `syncd plan --detailed-exitcode` finds no change.

The `syncd` commands run as real processes forked from a forkserver (tests/forkedcli.py).
"""

from __future__ import annotations

import io
import os
import pathlib
import random
import socket
import tarfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import docker

from syncd.engine.base import LABEL_INSTANCE, LABEL_REPLICA, LABEL_SERVICE
from tests.engine_support import Deployment
from tests.forkedcli import Cli
from tests.killpaths import PATHS, Path

# Where a kill landed, from the engine's state at the kill: a set-aside container present
# (inside a replace window); a service missing, duplicated or down; every container as before
# the round (nothing touched yet); a whole revision with containers new or restarted (the work
# done, or a failed recreate rolled back).
LANDINGS = ("aside", "incomplete", "untouched", "replaced")
ASIDE = ".old-"  # in the name of a container set aside (`Names.aside`)
LANES = 2  # instances per path, run side by side
TIMEOUT = 180.0  # seconds an unkilled command may take under load (a hang fails the test)


@dataclass
class Tally:
    """What one path's kills saw: kills, where they landed, and the time it all took."""

    path: str
    kills: int = 0
    landed: Counter[str] = field(default_factory=Counter)  # `LANDINGS`
    window: tuple[float, float] = (0.0, 0.0)
    seconds: float = 0.0

    def line(self) -> str:
        low, high = self.window
        seen = ", ".join(f"{k} {n}" for k, n in sorted(self.landed.items()))
        return (
            f"{self.path}: {self.kills} kill points ({seen}) in {low:.2f}-{high:.2f} s, "
            f"{self.seconds:.0f} s"
        )


def _environ() -> dict[str, str]:
    """What each command runs with. Where rollback is built: a replacing container proves
    itself in 0.5 s (as in tests), and a spec that rolled back (a recreate that failed under
    load) is retried by the next apply: this is about kills, not the flap guard's backoff."""
    return {
        "SYNCD_LOG_LEVEL": "error",
        "SYNCD_ROLLBACK_GRACE": os.environ.get("SYNCD_ROLLBACK_GRACE", "0.5"),
        "SYNCD_ROLLBACK_BACKOFF": os.environ.get("SYNCD_ROLLBACK_BACKOFF", "0"),
    }


def command(deployment: Deployment, *argv: str) -> Cli:
    """`syncd <argv>` against `deployment`'s repo, instance and data dir, started."""
    return Cli([*argv, *deployment.cli_args(deployment.repo, "--stop-timeout", "2")], _environ())


def finish(process: Cli, what: str) -> int:
    return process.finish(what, TIMEOUT)


def _started(containers: list[Any]) -> set[tuple[str, str]]:
    """Each container's id and the time it last started."""
    return {(c.id, c.attrs["State"]["StartedAt"]) for c in containers}


def _listener() -> socket.socket:
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen()
    return held


class Run:
    """One path on one deployment: its first apply, then rounds with or without a kill."""

    def __init__(self, path: Path, deployment: Deployment) -> None:
        self.path = path
        self.deployment = deployment
        self.round = 0
        self.tally = Tally(path.name)
        self.port = 0
        deployment.write(path.file, path.text(0, self._free_port(), fixed=True))
        first = command(deployment, "apply")
        assert finish(first, "first apply") == 0, f"the first apply failed: {first.said}"
        deadline = time.monotonic() + TIMEOUT  # (a service without a health gate may not
        while not all(seeds := self._seeds()) and time.monotonic() < deadline:  # have written
            time.sleep(0.2)  # its seed yet when the apply returns)
        self.seeds = seeds
        assert all(self.seeds), self.seeds
        self.created = deployment.client.volumes.get(path.volume(deployment.instance)).attrs[
            "CreatedAt"
        ]

    def _free_port(self) -> int:
        with _listener() as probe:
            self.port = int(probe.getsockname()[1])
        return self.port

    def _seeds(self) -> set[str]:
        """Each seed file, copied out of its container by the engine (`docker cp`): not by
        `docker exec cat`, whose output Docker sometimes loses under load (moby#27289: exit 0
        and no output), which read here as an empty seed file."""
        found = set()
        for container in self._containers():
            stream, _ = container.get_archive("/data/seed")
            with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
                member = tar.extractfile("seed")
                assert member is not None, container.name
                found.add(member.read().decode().strip())
        return found

    def _mounts(self) -> list[tuple[str, Any]]:
        """Each seed-holding container's name and mounts (for a failure's message)."""
        return [
            (c.name, [(m.get("Name"), m.get("Destination")) for m in c.attrs["Mounts"]])
            for c in self._containers()
        ]

    def _containers(self) -> list[Any]:
        label = f"{LABEL_INSTANCE}={self.deployment.instance}"
        # (volumes are only mounted by the services `_seeds` reads: db / web)
        return [
            c
            for c in self.deployment.client.containers.list(
                all=True, filters={"label": [label]}, ignore_removed=True
            )
            if c.labels.get(LABEL_SERVICE) in ("db", "web")
        ]

    def measure(self) -> tuple[float, float]:
        """The window kills are drawn in: half a no-op plan's time to an unkilled apply's."""
        start = time.monotonic()
        finish(command(self.deployment, "plan"), "plan")
        plan = time.monotonic() - start
        apply = self.step(None)
        self.tally.window = (plan / 2, max(apply, plan))
        return self.tally.window

    def step(self, delay: float | None) -> float:
        """One round: apply the next revision, killed after `delay` s (None: not killed), then
        converge and check. The time the first apply ran."""
        self.round += 1
        held = _listener() if self.path.holds_port else None
        port = int(held.getsockname()[1]) if held else self.port
        self.deployment.write(self.path.file, self.path.text(self.round, port))
        before = _started(self._found())
        start = time.monotonic()
        process = command(self.deployment, "apply")
        if delay is not None:
            process.join(delay)
            if process.exitcode is None:
                process.kill()
                self.tally.kills += 1
                self.tally.landed[self._landing(before)] += 1
        finish(process, "apply")
        ran = time.monotonic() - start
        if held is not None:  # the clash is fixed: the port is free and a new commit comes
            held.close()
            self.port = port
            self.deployment.write(self.path.file, self.path.text(self.round, port, fixed=True))
        self.converge()
        return ran

    def _found(self) -> list[Any]:
        label = f"{LABEL_INSTANCE}={self.deployment.instance}"
        return list(
            self.deployment.client.containers.list(
                all=True, filters={"label": [label]}, ignore_removed=True
            )
        )

    def _landing(self, before: set[tuple[str, str]]) -> str:
        found = self._found()
        if any(ASIDE in c.name for c in found):
            return "aside"
        seen = sorted((c.labels[LABEL_SERVICE], c.labels.get(LABEL_REPLICA, "1")) for c in found)
        if seen != self.path.expected(self.round - 1) or {c.status for c in found} != {"running"}:
            return "incomplete"
        return "untouched" if _started(found) == before else "replaced"

    def converge(self) -> None:
        """The next apply (not killed) converges; then nothing is left to change."""
        deployment, path = self.deployment, self.path
        apply = command(deployment, "apply")
        assert finish(apply, "apply") == 0, f"{path.name}: no converge: {apply.said}"
        label = f"{LABEL_INSTANCE}={deployment.instance}"
        found = deployment.client.containers.list(all=True, filters={"label": [label]})
        names = [c.name for c in found]
        assert not [n for n in names if ASIDE in n], names
        seen = sorted((c.labels[LABEL_SERVICE], c.labels.get(LABEL_REPLICA, "1")) for c in found)
        assert seen == path.expected(self.round), (path.name, self.round, names)
        assert {c.status for c in found} == {"running"}, [(c.name, c.status) for c in found]
        for container in found:
            assert f"ROUND={self.round}" in container.attrs["Config"]["Env"], container.name
        seeds = self._seeds()
        assert seeds == self.seeds, (
            path.name, self.round, "seed changed", seeds, self.seeds, self._mounts(),
            self.tally.landed, deployment.client.volumes.get(path.volume(deployment.instance))
            .attrs["CreatedAt"], self.created,
        )  # fmt: skip
        volume = deployment.client.volumes.get(path.volume(deployment.instance))
        assert volume.attrs["CreatedAt"] == self.created, f"{path.name}: the volume is new"
        plan = command(deployment, "plan", "--detailed-exitcode")
        code = finish(plan, "plan")
        assert code == 0, f"{path.name}: a further plan finds changes (exit {code}): {plan.said}"


def kill_rounds(path: Path, deployment: Deployment, kills: int, seed: str) -> Tally:
    """`kills` rounds of `path` killed at random points (rounds whose apply ends before its
    kill do not count: more rounds run until `kills` kills landed, at most 3x as many)."""
    began = time.monotonic()
    run = Run(path, deployment)
    low, high = run.measure()
    rng = random.Random(f"{seed}-{path.name}")
    rounds = 0
    while run.tally.kills < kills and rounds < 3 * kills:
        run.step(rng.uniform(low, high))
        rounds += 1
    run.tally.seconds = time.monotonic() - began
    return run.tally


def kill_everywhere(
    root: pathlib.Path, client: docker.DockerClient, kills: int, seed: int, lanes: int = LANES
) -> list[Tally]:
    """At least `kills` kill points shared by every path, each path on `lanes` instances run
    side by side (a round mostly waits: for a health check, a stop); one tally per path."""
    jobs = [(path, lane) for path in PATHS for lane in range(lanes)]
    each = -(-kills // len(jobs))
    deployments = [Deployment(root / f"{path.project}{lane}", client) for path, lane in jobs]
    try:
        with ThreadPoolExecutor(len(jobs)) as pool:
            futures = [
                pool.submit(kill_rounds, path, deployment, each, f"{seed}-{lane}")
                for (path, lane), deployment in zip(jobs, deployments, strict=True)
            ]
            tallies = [future.result() for future in futures]
    finally:
        for deployment in deployments:
            deployment.cleanup()
    return [_merge(path.name, [t for t in tallies if t.path == path.name]) for path in PATHS]


def _merge(name: str, tallies: list[Tally]) -> Tally:
    landed: Counter[str] = Counter()
    for tally in tallies:
        landed.update(tally.landed)
    return Tally(
        name,
        sum(t.kills for t in tallies),
        landed,
        (min(t.window[0] for t in tallies), max(t.window[1] for t in tallies)),
        max(t.seconds for t in tallies),
    )
