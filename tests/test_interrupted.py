"""Applies killed (SIGKILL) at random points of three paths - a normal apply, a recreate that
fails and rolls back, a start-first replace - (issue 15): after each kill the next apply
converges, with one container per service and replica, no set-aside or duplicate container, no
lost volume data, and nothing left to change. The paths run side by side, each on instances of
its own (tests/killpoints.py); `python -m bench killpoints` runs any number of kill points."""

from __future__ import annotations

import os
from pathlib import Path

import docker
import pytest

from tests.killpaths import PATHS
from tests.killpoints import LANES, kill_everywhere

pytestmark = pytest.mark.docker

KILLS = int(os.environ.get("SYNCD_KILL_POINTS", "51"))  # in all, shared by the three paths


def test_applies_killed_at_random_points_converge_without_duplicates_or_data_loss(
    tmp_path: Path, docker_client: docker.DockerClient, busybox_image: str
) -> None:
    seed = int(os.environ.get("SYNCD_CRASH_SEED", "4"))
    tallies = kill_everywhere(tmp_path, docker_client, KILLS, seed)
    print("\n".join(tally.line() for tally in tallies))
    each = -(-KILLS // (len(PATHS) * LANES)) * LANES
    for tally in tallies:
        assert tally.kills >= each, tally.line()  # each path got its share of kill points
    # Not a vacuous test: many kills landed mid-way (a service replaced, set aside, missing or
    # down at the kill), not all before the apply touched anything or after it had finished.
    inside = sum(t.kills - t.landed["untouched"] for t in tallies)
    assert inside * 4 >= sum(t.kills for t in tallies), [t.line() for t in tallies]
    first = next(t for t in tallies if t.path == "start-first")
    assert first.landed["aside"], first.line()  # kills inside start-first's replace window
