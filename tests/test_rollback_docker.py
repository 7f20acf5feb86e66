"""A stop-first recreate whose new container fails rolls back to the kept old container (issue
15): same container, name and volume; the status and the history say "rolled back"; the same
spec is held by the flap guard, a new spec is tried at once."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from syncd.api.view import _Builder
from syncd.cli.report import applied
from syncd.core.live import ServiceStatus
from syncd.core.plan import Action, Plan, Reason
from syncd.engine.base import Names
from syncd.ids import ServiceKey
from tests.engine_support import Deployment

pytestmark = pytest.mark.docker

IDLE = "trap 'exit 0' TERM; sleep 3600 & wait"  # stops at once on SIGTERM
WEB = ServiceKey("rb", "default", "web")
STACK = """\
kind: Stack
project: rb
services:
  web:
    image: busybox:1.36
    command: [sh, -c, "{command}"]
    ports: ["{port}:80/tcp"]
    volumes: ["data:/data"]
    environment: {{ROUND: "{round}"}}
{extra}volumes:
  data: {{}}
"""


def _stack(port: int, round_: int, command: str = IDLE, extra: str = "") -> str:
    return STACK.format(port=port, round=round_, command=command, extra=extra)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A port in use on 127.0.0.1 (what Docker will fail to publish)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _change(plan: Plan, key: ServiceKey = WEB) -> tuple[Action, Reason, str]:
    [change] = [c for s in plan.stacks for c in s.services if c.key == key]
    return change.action, change.reason, change.reason_text


def _deploy(deployment: Deployment, port: int) -> str:
    deployment.write("rb.yaml", _stack(port, 0))
    first = deployment.sync()
    assert first.ok, [r.detail for r in first.failed]
    code, _ = deployment.exec("web", "sh", "-c", "echo kept > /data/mark")
    assert code == 0
    return str(deployment.container("web").id)


def _assert_old_runs(deployment: Deployment, old: str) -> None:
    web = deployment.container("web")
    assert web.id == old and web.status == "running"
    assert web.name == Names(deployment.instance).container(WEB)
    assert deployment.exec("web", "cat", "/data/mark") == (0, "kept\n")


def _status_message(deployment: Deployment) -> tuple[ServiceStatus, str]:
    planned = deployment.reconciler.prepare(_manifests(deployment), "r1")
    live = planned.observation.live.stacks[WEB.stack_key].services["web"]
    desired = planned.desired.stacks[WEB.stack_key].services["web"]
    record = deployment.store.services()[str(WEB)]
    return _Builder._status(live, desired, record, Action.RECREATE)


def _manifests(deployment: Deployment):  # type: ignore[no-untyped-def]
    from syncd.manifests import read_manifests
    from syncd.source.reader import read_directory

    snap = read_directory(str(deployment.repo), [])
    return read_manifests(snap.files, deployment.env, problems=snap.problems)


def test_port_clash_on_recreate_restores_the_old_container_and_does_not_flap(
    deployment: Deployment, listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _deploy(deployment, _free_port())
    taken = listener.getsockname()[1]
    deployment.write("rb.yaml", _stack(taken, 1))
    second = deployment.sync()
    [failed] = second.failed
    assert failed.key == WEB and failed.detail.startswith("rolled back: "), failed.detail
    _assert_old_runs(deployment, old)
    assert len(deployment.containers()) == 1
    status, message = _status_message(deployment)
    assert status is ServiceStatus.RUNNING and message.startswith("Rolled back: "), message

    third = deployment.sync()  # the same revision again: held, nothing created or stopped
    action, reason, text = _change(third.plan)
    assert (action, reason) == (Action.NONE, Reason.HELD) and text.startswith("held: rolled"), text
    assert deployment.writes == 0, deployment.requests
    report = applied(third)
    assert "none      held: rolled back at " in report and "(0 unchanged, 1 held)" in report
    _assert_old_runs(deployment, old)

    # after the backoff, the same spec is tried again (and rolls back again: attempt 2)
    from syncd.apply import flapguard  # (imported here: the behaviour above fails first on main)

    after = time.time() + deployment.settings.rollback_backoff + 1
    monkeypatch.setattr(flapguard, "clock", lambda: after)
    later = deployment.reconciler.prepare(_manifests(deployment), "r1").plan
    assert _change(later)[0] is Action.RECREATE


def test_unhealthy_or_exiting_replacement_rolls_back_and_a_new_spec_is_tried_at_once(
    deployment: Deployment,
) -> None:
    port = _free_port()
    old = _deploy(deployment, port)
    failing = "    healthcheck: {test: [CMD, 'false'], interval: 1s, timeout: 1s, retries: 1}\n"
    deployment.write("rb.yaml", _stack(port, 1, extra=failing))
    second = deployment.sync()
    [failed] = second.failed
    assert failed.detail.startswith("rolled back: ") and "unhealthy" in failed.detail
    _assert_old_runs(deployment, old)

    deployment.write("rb.yaml", _stack(port, 2, command="exit 3"))  # a new spec: not held
    third = deployment.sync()
    assert _change(third.plan)[0] is Action.RECREATE
    [failed] = third.failed
    assert failed.detail.startswith("rolled back: ") and "code 3" in failed.detail, failed.detail
    _assert_old_runs(deployment, old)

    deployment.write("rb.yaml", _stack(port, 3))  # a good spec replaces it and is remembered
    fourth = deployment.sync()
    assert fourth.ok, [r.detail for r in fourth.failed]
    web = deployment.container("web")
    assert web.id != old and web.status == "running"
    assert deployment.exec("web", "cat", "/data/mark") == (0, "kept\n")
    from syncd.apply import flapguard

    assert str(WEB) not in flapguard.failures(deployment.store)


def test_a_container_left_set_aside_by_a_killed_replace_gets_its_name_back(
    deployment: Deployment,
) -> None:
    """As if killed after the old container was stopped and set aside, and the new one made:
    the next sync keeps the set-aside one (the last known to work) and restores its name."""
    port = _free_port()
    old = _deploy(deployment, port)
    deployment.engine.stop(old, 2)
    deployment.engine.set_aside(old)
    name = Names(deployment.instance).container(WEB)
    made = deployment.client.containers.create(
        "busybox:1.36", ["sleep", "3600"], name=name, labels=deployment.container("web").labels
    )
    assert len(deployment.containers()) == 2
    result = deployment.sync()
    assert result.ok, ([r.detail for r in result.failed], result.errors)
    _assert_old_runs(deployment, old)
    assert made.id not in {c.id for c in deployment.containers()}
