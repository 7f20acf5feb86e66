"""A service recorded before secrets were bound to their declaration (`core.declarations`) keeps
a digest of the value alone, which a template-built guess could still be compared with; the
first sync that finds it unchanged records it again, bound (`apply.rebind`), without touching
its container."""

from __future__ import annotations

import json
import sqlite3

import pytest

from syncd.core.observe import observe
from syncd.core.plan import Action, plan
from syncd.core.records import BOUND_PREFIX, DIGEST_PREFIX
from syncd.manifests import read_manifests
from syncd.source.reader import read_directory
from tests.engine_support import Deployment

pytestmark = pytest.mark.docker

SECRET = "hunter2-production"
COMPOSE = """\
services:
  web:
    image: busybox:1.36
    command: [sh, -c, "trap 'exit 0' TERM; sleep 3600 & wait"]
    environment:
      TOKEN: '{token}'
"""
KEY = "rebind/default/web"


def _token(deployment: Deployment) -> str:
    return str(deployment.store.services()[KEY].spec["environment"]["TOKEN"])


def _as_before_the_binding(deployment: Deployment) -> None:
    """The record as a syncd before the binding wrote it: a digest of the value alone."""
    record = deployment.store.services()[KEY]
    spec = json.loads(json.dumps(record.spec))
    spec["environment"]["TOKEN"] = deployment.store._digest(SECRET)  # (its value-only form)
    db = sqlite3.connect(deployment.settings.state_file, isolation_level=None)
    try:
        db.execute("UPDATE services SET spec=? WHERE key=?", (json.dumps(spec), KEY))
    finally:
        db.close()


def _guess_plans(deployment: Deployment, guess: str) -> Action:
    """What a plan of a pull request that builds `guess` from a template does to web."""
    deployment.write("rebind/compose.yaml", COMPOSE.format(token="${TOKEN:+" + guess + "}"))
    try:
        manifests = read_manifests(read_directory(deployment.repo).files, deployment.env)
        planned = deployment.reconciler.prepare(manifests, "pr")
        [change] = planned.plan.stacks[0].services
        return change.action
    finally:
        deployment.write("rebind/compose.yaml", COMPOSE.format(token="${TOKEN}"))


def test_an_unchanged_sync_binds_a_record_from_before_the_binding(
    deployment: Deployment,
) -> None:
    deployment.env["TOKEN"] = SECRET
    (deployment.repo / "rebind").mkdir()
    deployment.write("rebind/compose.yaml", COMPOSE.format(token="${TOKEN}"))
    assert deployment.sync().ok
    assert _token(deployment).startswith(BOUND_PREFIX)
    assert not deployment.store.unbound()  # nothing to bind: a sync reads no record for it
    _as_before_the_binding(deployment)
    assert deployment.store.unbound()
    legacy = _token(deployment)
    assert legacy.startswith(DIGEST_PREFIX) and not legacy.startswith(BOUND_PREFIX)
    # the gap it leaves: a right guess plans unchanged, a wrong one as a change
    assert _guess_plans(deployment, SECRET) is Action.NONE
    assert _guess_plans(deployment, "a-wrong-guess") is not Action.NONE

    container = deployment.container("web").id
    again = deployment.sync()  # the head, unchanged: nothing to do but bind the record
    assert again.ok and not again.plan.changed
    assert deployment.container("web").id == container
    assert _token(deployment).startswith(BOUND_PREFIX) and not deployment.store.unbound()
    assert _guess_plans(deployment, SECRET) is _guess_plans(deployment, "x") is not Action.NONE
    # and the head still plans as unchanged: the bound record matches its own declaration
    records = deployment.store.services()
    manifests = read_manifests(read_directory(deployment.repo).files, deployment.env)
    desired = deployment.reconciler.resolve(manifests, "head", deployment.engine.observe())
    seen = observe(deployment.engine.observe(), records, desired=desired,
                   restore=deployment.store.restore)  # fmt: skip
    assert not plan(desired, seen.live, base="head").changed
