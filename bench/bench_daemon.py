"""`syncd run` as a process: commit-to-converged latency, and the daemon's RSS and idle CPU.

A work tree holds 50 stacks x 10 services (500 containers); the daemon watches it. After the
first convergence, ROUNDS commits each change one service's environment; latency runs from
`git commit` returning to Docker reporting the new container running with the new value.
Then the daemon idles for IDLE_S seconds (one drift pass and the events loop included) while
its CPU time (utime + stime from /proc) and RSS are read.

Targets (issue 5): median latency under 1.5 s, RSS under 150 MB, idle CPU under 1 % of a core.
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.bench_apply import SCALE_SERVICES, SCALE_STACKS, _remove_instance, scale_manifests
from bench.common import BenchFailure, Figure, free_port, git

INSTANCE = "benchdaemon"
ROUNDS = 10
IDLE_S = 65.0
TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise BenchFailure("no VmRSS")


def _bump(path: Path, round_: int) -> None:
    """Give service s7-3 of stack 7 the environment variable ROUND=<round_>."""
    text = path.read_text()
    if round_ == 1:
        text = text.replace('INDEX: "3"', 'INDEX: "3", ROUND: "1"', 1)
    else:
        text = text.replace(f'ROUND: "{round_ - 1}"', f'ROUND: "{round_}"')
    path.write_text(text)


def _latencies(api: Any, repo: Path) -> list[float]:
    import docker.errors

    name = f"{INSTANCE}_scale7_st7_s7-3"
    latencies = []
    for round_ in range(1, ROUNDS + 1):
        _bump(repo / "st7.yaml", round_)
        git(repo, "commit", "-qam", f"round {round_}")
        start = time.perf_counter()
        want = f"ROUND={round_}"
        while True:
            try:
                found = api.inspect_container(name)
                if found["State"]["Running"] and want in found["Config"]["Env"]:
                    break
            except docker.errors.NotFound:
                pass
            if time.perf_counter() - start > 60:
                raise BenchFailure(f"round {round_} did not converge in 60 s")
            time.sleep(0.01)
        latencies.append(time.perf_counter() - start)
        time.sleep(1.5)  # let the recreate's Docker events settle
    return sorted(latencies)


def _converge(api: Any, daemon: subprocess.Popen[bytes], log: Path) -> None:
    label = {"label": [f"syncd.instance={INSTANCE}"], "status": "running"}
    deadline = time.monotonic() + 900
    while len(api.containers(filters=label)) < SCALE_STACKS * SCALE_SERVICES:
        if daemon.poll() is not None or time.monotonic() > deadline:
            raise BenchFailure(f"the daemon did not converge: {log.read_text()[-800:]}")
        time.sleep(1)


def _idle(pid: int) -> tuple[float, float]:
    """(CPU share of one core, RSS in MB) over IDLE_S seconds of idling."""
    before = _cpu_seconds(pid)
    start = time.monotonic()
    time.sleep(IDLE_S)
    share = (_cpu_seconds(pid) - before) / (time.monotonic() - start)
    return share, _rss_mb(pid)


def _ms(text: str) -> float:
    """wrk's `812.00us` / `3.21ms` / `1.02s` -> milliseconds."""
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    raise BenchFailure(f"unexpected wrk latency {text!r}")


def _wrk(url: str) -> tuple[float, float]:
    """(requests/s, p99 ms) from wrk: 1 thread, 8 connections, 10 s, on loopback."""
    done = subprocess.run(
        ["wrk", "-t1", "-c8", "-d10s", "--latency", url], capture_output=True, text=True, check=True
    )
    rate = p99 = 0.0
    for line in done.stdout.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            rate = float(parts[1])
        elif parts[:1] == ["99%"]:
            value = parts[1]
            p99 = (
                float(value[:-2])
                if value.endswith("ms")
                else float(value[:-2]) / 1000
                if value.endswith("us")
                else float(value[:-1]) * 1000
            )
    if "Non-2xx" in done.stdout:
        raise BenchFailure(f"wrk saw errors: {done.stdout[-400:]}")
    return rate, p99


def _docker_list_ms(api: Any) -> float:
    """Median latency of Docker's own GET /containers/json for the same containers."""
    samples = []
    label = {"label": [f"syncd.instance={INSTANCE}"]}
    for _ in range(20):
        start = time.perf_counter()
        api.containers(all=True, filters=label)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def run() -> list[Figure]:
    import docker

    if shutil.which("docker") is None:
        raise BenchFailure("no Docker engine (make docker-env)")
    api = docker.APIClient(version="1.41")
    total = SCALE_STACKS * SCALE_SERVICES
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        repo = root / "repo"
        repo.mkdir()
        scale_manifests(repo)
        git(repo, "init", "-q", "-b", "main")
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "scale")
        syncd = Path(sys.executable).with_name("syncd")
        log_path = root / "daemon.log"
        port = free_port()
        with log_path.open("w") as log:
            daemon = subprocess.Popen(
                [str(syncd), "--log-level", "warning", "run", "--repo", str(repo),
                 "--data-dir", str(root / "data"), "--instance", INSTANCE,
                 "--listen", f"127.0.0.1:{port}"],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
            try:
                _converge(api, daemon, log_path)
                time.sleep(3)
                latencies = _latencies(api, repo)
                time.sleep(3)
                idle_cpu, rss = _idle(daemon.pid)
                os.sched_setaffinity(daemon.pid, {(os.cpu_count() or 1) - 1})  # one core
                from syncd.ids import project_id

                url = f"http://127.0.0.1:{port}/v2/projects/{project_id('scale3')}/services"
                if not shutil.which("wrk"):  # a 0 req/s row would read as a result
                    raise BenchFailure("wrk is not installed: make bench installs it (apt-get)")
                rate, p99 = _wrk(url)
                docker_ms = _docker_list_ms(api)
            finally:
                daemon.send_signal(signal.SIGTERM)
                daemon.wait(15)
                _remove_instance(INSTANCE)
    median = statistics.median(latencies)
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
    return [
        Figure(
            f"daemon: commit -> converged, one-service change among {total}",
            median,
            "s",
            f"target median < 1.5 s; p95 {p95:.2f} s; {ROUNDS} commits",
        ),
        Figure(f"daemon RSS with {total} containers", rss, "MB", "target < 150 MB"),
        Figure(
            "API: GET /v2/projects/{id}/services (50 services), one core",
            rate,
            "req/s",
            f"target >= 1000 req/s, p99 < 20 ms; p99 {p99:.1f} ms (wrk -t1 -c8 -d10s); "
            f"Docker's GET /containers/json for the {total} containers: {docker_ms:.1f} ms median",
        ),
        Figure(
            f"daemon idle CPU with {total} containers",
            idle_cpu * 100,
            "% of a core",
            f"target < 1 %; over {IDLE_S:.0f} s incl. a drift pass",
        ),
    ]
