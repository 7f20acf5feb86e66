"""What every bench module shares: the `Figure` it reports and a small timer.

A bench module `bench/bench_<topic>.py` exposes `run() -> list[Figure]`. It measures, it does not
judge: a figure carries the number and what to read it against, never a pass/fail threshold.
A module raises (e.g. `BenchFailure`) only when its own setup went wrong, e.g. the generated
input did not validate, so the numbers would be meaningless.
"""

from __future__ import annotations

import gc
import math
import socket
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Figure:
    """One measured number, e.g. `Figure("parse 100 stacks", 0.21, "s", "PyYAML: 0.03 s")`."""

    name: str
    value: float
    unit: str
    compares: str  # what to read the value against: a target, a baseline, another figure


class BenchFailure(Exception):
    """The benchmark could not measure what it claims to (bad input, wrong result)."""


def timeit_median(fn: Callable[[], Any], repeat: int = 7) -> tuple[float, float]:
    """`(median, p95)` wall seconds of `repeat` calls of `fn`, after one untimed warm-up call.

    p95 is the nearest-rank percentile, so with fewer than 20 runs it is the slowest run.
    Garbage is collected before each run, outside the timed part.
    """
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, not {repeat}")
    fn()
    samples = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    samples.sort()
    p95 = samples[math.ceil(0.95 * len(samples)) - 1]
    return statistics.median(samples), p95


def git(cwd: Path, *args: str) -> None:
    """A git command in `cwd` as the bench's own author (its output kept quiet)."""
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", *args],
        cwd=cwd, check=True, capture_output=True,
    )  # fmt: skip


def free_port() -> int:
    """A port of 127.0.0.1 free a moment ago (for a daemon the bench starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
