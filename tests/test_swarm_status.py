"""Status from Swarm tasks: a service's replicas running of desired, the nodes its tasks run on
and the newest task error as its `/v2` message; the nodes (a node down is visible) in
`/v2/syncd/daemon/status` and `/metrics`; a service's logs from its tasks.

The arithmetic is checked on tables without Docker; the rest on the shared three-node swarm
(manager `unix:///run/swn1/docker.sock`), with services made directly with docker-py and
labelled as syncd labels its own, so these tests need no Swarm engine. One test kills a
worker's dockerd and revives it (it disturbs the shared cluster for about half a minute).
"""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any, TypeVar

import docker
import docker.errors
import docker.types
import pytest

from syncd.api.pagedata import Level, gather
from syncd.api.view import build
from syncd.core.observe import observe
from syncd.daemon import swarmwatch
from syncd.daemon.metrics import Metrics
from syncd.daemon.snapshot import DaemonSnapshot
from syncd.daemon.status import Status
from syncd.daemon.swarmstatus import SwarmStatus, replicas_text, status_of, swarm_status
from syncd.engine import logtail, swarmtasks
from syncd.engine.base import (
    LABEL_INSTANCE,
    MAX_LOG_BYTES,
    ContainerState,
    Names,
    Observed,
    ObservedContainer,
    service_labels,
)
from syncd.engine.swarmview import (
    NodeState,
    NodeView,
    ServiceTasks,
    SwarmState,
    TaskSource,
    TaskState,
    TaskView,
    desired_count,
    node_view,
    seconds,
    summary,
    task_view,
)
from syncd.errors import EngineError
from syncd.ids import ServiceKey, project_id
from tests import swarmclean
from tests.conformance import Conformance, reference
from tests.daemon_support import RunningDaemon
from tests.gitrepo import GitRepo
from tests.planning import desired as desired_of
from tests.swarmnodes import NodeKiller, Swarm

T = TypeVar("T")
IDLE = "trap 'exit 0' TERM; echo line-$SLOT; sleep 3600 & wait"
SERVICE_SCHEMA = {"$ref": "#/components/schemas/de.mittwald.v1.container.ServiceResponse"}


# -- the arithmetic, without Docker --------------------------------------------------------------


def task(
    slot: int,
    node: str,
    state: TaskState = TaskState.RUNNING,
    *,
    desired: TaskState = TaskState.RUNNING,
    error: str | None = None,
    at: float = 100.0,
) -> TaskView:
    return TaskView(
        id=f"t{slot}{node}{at}",
        service_id="s1",
        slot=slot,
        node_id=f"id-{node}",
        node=node,
        state=state,
        desired=desired,
        message=state.value,
        error=error,
        created=at,
        updated=at,
    )


FAILED = TaskState.FAILED
SHUTDOWN = TaskState.SHUTDOWN


@pytest.mark.parametrize(
    ("tasks", "desired", "down", "expected"),
    [
        pytest.param([], 2, (), ServiceTasks(0, 2, (), None), id="nothing-scheduled-yet"),
        pytest.param(
            [task(1, "swn2"), task(2, "swn1")], 2, (), ServiceTasks(2, 2, ("swn1", "swn2"), None),
            id="converged-on-two-nodes",
        ),
        pytest.param(
            [
                task(1, "swn1"),
                task(2, "swn2", FAILED, desired=SHUTDOWN, error="task: non-zero exit (3)", at=5),
                task(2, "swn3", FAILED, desired=SHUTDOWN, error="starting container failed", at=9),
                task(2, "swn3", TaskState.PREPARING, at=10),
            ],
            2, (), ServiceTasks(1, 2, ("swn1",), "starting container failed"),
            id="the-newest-error-while-not-converged",
        ),
        pytest.param(
            [
                task(1, "swn1"),
                task(1, "swn2", FAILED, desired=SHUTDOWN, error="task: non-zero exit (1)", at=1),
            ],
            1, (), ServiceTasks(1, 1, ("swn1",), None), id="an-old-error-once-converged",
        ),
        pytest.param(
            [task(1, "swn1"), task(2, "swn3")], 2, ("id-swn3",),
            ServiceTasks(1, 2, ("swn1",), "node swn3 is down; Swarm reschedules its tasks"),
            id="a-task-on-a-down-node-does-not-count",
        ),
        pytest.param(
            [task(1, "swn1"), task(2, "swn3", desired=SHUTDOWN), task(2, "swn2")], 2, ("id-swn3",),
            ServiceTasks(2, 2, ("swn1", "swn2"), None), id="rescheduled-away-from-the-down-node",
        ),
        pytest.param(
            [task(1, "swn1", TaskState.PENDING, error="no suitable node (scheduling constraints)")],
            1, (), ServiceTasks(0, 1, (), "no suitable node (scheduling constraints)"),
            id="pending-on-no-suitable-node",
        ),
    ],
)  # fmt: skip
def test_summary_counts_running_tasks_their_nodes_and_says_why_not_converged(
    tasks: list[TaskView], desired: int, down: tuple[str, ...], expected: ServiceTasks
) -> None:
    assert summary(tasks, desired, frozenset(down)) == expected


@pytest.mark.parametrize(
    ("tasks", "expected", "text"),
    [
        (ServiceTasks(2, 2, ("swn1", "swn2"), None), "running",
         "2/2 replicas running on swn1, swn2"),
        (ServiceTasks(1, 1, ("swn3",), None), "running", "1/1 replica running on swn3"),
        (ServiceTasks(0, 0, (), None), "stopped", "0/0 replicas running"),
        (ServiceTasks(0, 1, (), "task: non-zero exit (3)"), "error",
         "0/1 replica running: task: non-zero exit (3)"),
        (ServiceTasks(1, 2, ("swn1",), "node swn3 is down; Swarm reschedules its tasks"),
         "starting",
         "1/2 replicas running on swn1: node swn3 is down; Swarm reschedules its tasks"),
        (ServiceTasks(0, 2, (), None), "starting", "0/2 replicas running"),
    ],
)  # fmt: skip
def test_a_swarm_service_status_and_message(tasks: ServiceTasks, expected: str, text: str) -> None:
    assert status_of(tasks).value == expected
    assert replicas_text(tasks) == text


def test_engine_answers_read_as_tasks_and_nodes() -> None:
    raw_task = {
        "ID": "qpod53w4b9",
        "CreatedAt": "2026-11-28T12:22:31.928225809Z",
        "ServiceID": "idldadw2am",
        "Slot": 1,
        "NodeID": "vk2fvlodoy",
        "Status": {
            "Timestamp": "2026-11-28T12:22:37.516252909Z",
            "State": "failed",
            "Message": "started",
            "Err": "task: non-zero exit (3)",
            "ContainerStatus": {"ContainerID": "c9c562", "PID": 0, "ExitCode": 3},
        },
        "DesiredState": "shutdown",
    }
    seen = task_view(raw_task, {"vk2fvlodoy": "swn2"})
    assert (seen.node, seen.slot, seen.state, seen.desired) == ("swn2", 1, FAILED, SHUTDOWN)
    assert (seen.error, seen.container_id) == ("task: non-zero exit (3)", "c9c562")
    assert not seen.running
    assert seen.updated - seen.created == pytest.approx(5.588027, abs=1e-6)
    global_task = task_view({"ID": "g", "Slot": 0, "Status": {"State": "weird"}}, {})
    assert (global_task.slot, global_task.state, global_task.node) == (None, TaskState.ORPHANED, "")
    assert (seconds(None), seconds("not a time")) == (0.0, 0.0)
    assert seconds("2026-11-28T12:22:37Z") == seconds("2026-11-28T12:22:37.000000000Z") > 0

    raw_node = {
        "ID": "r94jkr",
        "Description": {"Hostname": "swn1"},
        "Spec": {"Role": "manager", "Availability": "active"},
        "Status": {"State": "down", "Addr": "10.213.0.11"},
        "ManagerStatus": {"Leader": True},
    }
    node = node_view(raw_node)
    assert node == NodeView(
        "r94jkr", "swn1", NodeState.DOWN, "active", "manager", "10.213.0.11", leader=True
    )
    assert node_view({"Status": {"State": "rebooting"}}).state is NodeState.UNKNOWN


def test_desired_count_of_replicated_and_global_services() -> None:
    up, gone = (
        NodeView("a", "swn1", NodeState.READY, "active", "manager", "x"),
        NodeView("b", "swn2", NodeState.DOWN, "active", "worker", "y"),
    )
    global_tasks = [
        TaskView("1", "s", None, "a", "swn1", TaskState.RUNNING, TaskState.RUNNING, "", None, 0, 0),
        TaskView("2", "s", None, "b", "swn2", TaskState.RUNNING, TaskState.RUNNING, "", None, 0, 0),
        TaskView("3", "s", None, "a", "swn1", FAILED, SHUTDOWN, "", "x", 0, 0),
    ]
    assert desired_count({"Spec": {"Mode": {"Replicated": {"Replicas": 3}}}}, [], [up]) == 3
    assert desired_count({"Spec": {"Mode": {"Global": {}}}}, global_tasks, [up, gone]) == 1
    assert desired_count({"Spec": {}}, [], []) == 1  # Swarm's default


def test_logs_keep_their_last_bytes_from_a_line_start() -> None:
    line = b"x" * 1023 + b"\n"
    chunks = [b"first line\n", *([line] * (MAX_LOG_BYTES // len(line) + 10))]
    text = logtail.bounded(iter(chunks))
    assert len(text.encode()) <= MAX_LOG_BYTES and text.startswith("x") and "first" not in text
    assert logtail.bounded(iter([b"a\n", b"b\xff\n"])) == "a\nb\ufffd\n"


def test_the_docker_engine_shows_no_swarm_facts() -> None:
    assert not isinstance(object(), TaskSource)
    assert swarm_status(None) is None
    snapshot = _snapshot({}, None)
    assert swarm_status(snapshot) is None
    assert not [m for m in _metrics(None) if "swarm" in m or "replicas" in m]


# -- the views of a snapshot ---------------------------------------------------------------------

KEY = ServiceKey("st", "default", "web")
MANIFEST = """\
kind: Stack
project: st
services:
  web:
    image: busybox:1.36
"""


def _snapshot(services: dict[ServiceKey, str], swarm: SwarmState | None) -> DaemonSnapshot:
    """A snapshot as the daemon builds it on a Swarm engine: one observed "container" per
    service, named by its Swarm service ID (`engine.swarm`'s observation)."""
    observed = Observed(
        containers=tuple(
            ObservedContainer(
                id=sid, name=Names("t").container(key), key=key, hash="h", revision=None,
                image_id="", state=ContainerState.RUNNING, health=None, created=1.0,
            )
            for key, sid in services.items()
        )
    )  # fmt: skip
    desired = desired_of(MANIFEST, {}, "r1", None)
    return DaemonSnapshot(
        desired=desired,
        observation=observe(observed, {}, desired=desired),
        observed=observed,
        plan=None,
        records={},
        instance="t",
        built_at=time.time(),
        swarm=swarm,
    )


def _metrics(swarm: SwarmStatus | None) -> list[str]:
    class Source:
        def engine_available(self) -> bool:
            return True

        def service_states(self) -> list[Any]:
            return []

        def stacks(self) -> dict[str, Any]:
            return {}

        def swarm(self) -> SwarmStatus | None:
            return swarm

    metrics = Metrics()
    metrics.watch(Source())
    return [line for line in metrics.render().decode().splitlines() if not line.startswith("#")]


def check_views(state: SwarmState, sid: str) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """The `/v2` service answer (checked against mittwald's schema), the status's `swarm` part
    and the metric lines of one service on a Swarm in `state`."""
    snapshot = _snapshot({KEY: sid}, state)
    answer = build(snapshot).services[KEY.id].model_dump(mode="json", exclude_none=True)
    problems = Conformance(reference()).errors(SERVICE_SCHEMA, answer)
    assert not problems, problems
    found = swarm_status(snapshot)
    assert found is not None
    return answer, found.as_json(), _metrics(found)


def test_views_show_replicas_nodes_and_a_node_down() -> None:
    nodes = (
        NodeView("a", "swn1", NodeState.READY, "active", "manager", "10.213.0.11", True),
        NodeView("b", "swn2", NodeState.DOWN, "active", "worker", "10.213.0.12"),
    )
    tasks = ServiceTasks(1, 2, ("swn1",), "node swn2 is down; Swarm reschedules its tasks")
    answer, status, metrics = check_views(SwarmState(nodes, {"svc1": tasks}), "svc1")
    assert answer["status"] == "starting"
    assert answer["message"] == (
        "1/2 replicas running on swn1: node swn2 is down; Swarm reschedules its tasks"
    )
    assert status["nodesDown"] == ["swn2"] and len(status["nodes"]) == 2
    assert status["services"] == {"st/default/web": tasks.as_json()}
    assert 'syncd_swarm_nodes{state="down"} 1.0' in metrics
    assert 'syncd_swarm_nodes{state="ready"} 1.0' in metrics
    assert 'syncd_service_replicas_running{service="st/default/web"} 1.0' in metrics
    assert 'syncd_service_replicas_desired{service="st/default/web"} 2.0' in metrics
    unknown, _, _ = check_views(SwarmState(nodes, {}), "svc1")  # no summary: the container's
    assert unknown["status"] == "running"


@pytest.mark.parametrize(
    ("tasks", "shown", "level"),
    [
        (ServiceTasks(2, 2, ("swn1", "swn2"), None), "2/2", Level.OK),
        (ServiceTasks(1, 2, ("swn1",), "node swn2 is down"), "1/2", Level.WARN),
        (ServiceTasks(0, 3, (), "no suitable node"), "0/3", Level.BAD),
    ],
)
def test_the_status_page_counts_a_swarm_services_tasks(
    tasks: ServiceTasks, shown: str, level: Level
) -> None:
    snapshot = _snapshot({KEY: "svc1"}, SwarmState((), {"svc1": tasks}))
    status = Status(repo="r", branch="main", instance="t", started_at=0.0)
    data = gather(status, snapshot=snapshot, view=build(snapshot), stacks={}, syncs=[], now=2.0)
    [row] = [r for p in data.projects for st in p.stacks for r in st.services]
    assert (row.replicas, row.level) == (shown, level)
    assert (tasks.message in row.notes) if tasks.message else not row.notes


class FakeSwarm:
    """A Swarm engine's task source (`TaskSource`, syncd's seam): answers `state`."""

    def __init__(self, state: SwarmState) -> None:
        self.state = state
        self.asked: list[set[str]] = []

    def swarm_state(self, service_ids: Collection[str]) -> SwarmState:
        self.asked.append(set(service_ids))
        return self.state


class Holder:
    """The daemon as the watch sees it: its snapshot, and `publish` (`Daemon.publish`)."""

    def __init__(self, current: DaemonSnapshot, stop: threading.Event) -> None:
        self.current = current
        self.stop = stop
        self.published: list[tuple[DaemonSnapshot, DaemonSnapshot | None]] = []

    def snapshot(self) -> DaemonSnapshot | None:
        return self.current

    def publish(self, snapshot: DaemonSnapshot, base: DaemonSnapshot | None = None) -> None:
        self.published.append((snapshot, base))
        self.stop.set()


def test_the_swarm_facts_are_read_again_between_syncs_and_published_when_they_change() -> None:
    up = NodeView("a", "swn1", NodeState.READY, "active", "manager", "10.213.0.11", True)
    before = SwarmState((up,), {"svc1": ServiceTasks(1, 1, ("swn1",), None)})
    after = SwarmState(
        (dataclasses.replace(up, state=NodeState.DOWN),), {"svc1": ServiceTasks(0, 1, (), None)}
    )
    base = _snapshot({KEY: "svc1"}, before)
    engine = FakeSwarm(before)
    assert swarmwatch.fresher(engine, base) is None  # unchanged: nothing to publish
    engine.state = after
    newer = swarmwatch.fresher(engine, base)
    assert newer is not None and newer.swarm == after and newer.observation is base.observation
    assert engine.asked == [{"svc1"}, {"svc1"}]

    stop = threading.Event()
    holder = Holder(base, stop)
    watcher = threading.Thread(target=swarmwatch.watch, args=(stop, engine, holder, 0.01))
    watcher.start()
    watcher.join(10)
    assert not watcher.is_alive() and len(holder.published) == 1
    published, on = holder.published[0]
    assert on is base and published.swarm == after  # only over the snapshot it was read from
    swarmwatch.watch(threading.Event(), object(), holder)  # not a Swarm engine: returns at once


# -- on the shared three-node swarm --------------------------------------------------------------


def poll(check: Callable[[], T | None], timeout: float, what: str) -> T:
    """`check()` until it is truthy, every half second (the manager is shared)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def manager(swarm: Swarm) -> Iterator[docker.APIClient]:
    """The test swarm's manager (`swarm`: scripts/ensure-swarm.sh brought it up)."""
    client = docker.APIClient(base_url=swarm.docker_host, version="1.41", timeout=30)
    yield client
    client.close()


class Services:
    """Services of one unique instance on the shared swarm, made as syncd labels its own."""

    def __init__(self, api: docker.APIClient) -> None:
        self.api = api
        self.instance = "st" + uuid.uuid4().hex[:8]
        self.names = Names(self.instance)

    def create(
        self, name: str, replicas: int, command: str, constraints: list[str] | None = None
    ) -> str:
        key = ServiceKey("st", "default", name)
        labels = service_labels(self.instance, key, "h", None)
        spec = docker.types.ContainerSpec(
            "busybox:1.36",
            ["sh", "-c", command],
            env={"SLOT": "{{.Task.Slot}}"},
            labels=labels,
            stop_grace_period=2_000_000_000,
        )
        template = docker.types.TaskTemplate(
            spec,
            restart_policy=docker.types.RestartPolicy("any", delay=1_000_000_000),
            placement=docker.types.Placement(constraints=constraints),
        )
        created = self.api.create_service(
            template,
            name=self.names.container(key),
            labels=labels,
            mode=docker.types.ServiceMode("replicated", replicas),
            endpoint_spec=docker.types.EndpointSpec(mode="dnsrr"),
        )
        return str(created["ID"])

    def state(self, *ids: str) -> SwarmState:
        return swarmtasks.swarm_state(self.api, ids)

    def when(
        self, ok: Callable[[SwarmState], object], what: str, *ids: str, timeout: float = 60.0
    ) -> SwarmState:
        """The state of these services once `ok` holds for it."""

        def check() -> SwarmState | None:
            state = self.state(*ids)
            return state if ok(state) else None

        return poll(check, timeout, what)

    def remove(self) -> None:
        for service in self.api.services(filters={"label": f"{LABEL_INSTANCE}={self.instance}"}):
            self.api.remove_service(service["ID"])


@pytest.fixture
def services(manager: docker.APIClient) -> Iterator[Services]:
    made = Services(manager)
    try:
        yield made
    finally:
        made.remove()


@pytest.mark.docker
@pytest.mark.swarm
def test_a_service_reports_its_replicas_nodes_and_logs(services: Services) -> None:
    nodes = swarmtasks.nodes(services.api)
    assert [n.hostname for n in nodes] == ["swn1", "swn2", "swn3"]
    assert all(n.state is NodeState.READY for n in nodes)
    assert [n.hostname for n in nodes if n.leader] == ["swn1"]
    sid = services.create("web", 2, IDLE)
    converged = services.when(lambda s: s.services[sid].running == 2, "two tasks", sid)
    web = converged.services[sid]
    assert web.desired == 2 and web.message is None and len(web.nodes) == 2  # spread
    running = [t for t in swarmtasks.tasks(services.api, sid) if t.running]
    assert sorted(t.slot or 0 for t in running) == [1, 2]
    assert sorted(t.node for t in running) == list(web.nodes)
    assert all(t.container_id for t in running)

    answer, status, metrics = check_views(converged, sid)
    assert answer["status"] == "running"
    assert answer["message"] == f"2/2 replicas running on {', '.join(web.nodes)}"
    assert status["nodesDown"] == [] and status["services"]["st/default/web"]["running"] == 2
    assert 'syncd_swarm_nodes{state="ready"} 3.0' in metrics

    def both_lines() -> str | None:
        text = swarmtasks.service_logs(services.api, sid, 10)
        return text if text.count("line-") == 2 else None

    logs = poll(both_lines, 20, "a line from each task")
    assert "line-1" in logs and "line-2" in logs


@pytest.mark.docker
@pytest.mark.swarm
def test_a_failing_or_unplaceable_service_reports_why(services: Services) -> None:
    failing = services.create("crash", 1, "echo crashing; exit 3")
    stuck = services.create("stuck", 1, IDLE, constraints=["node.hostname==nowhere"])
    state = services.when(
        lambda s: s.services[failing].message and s.services[stuck].message,
        "both services' errors",
        failing,
        stuck,
    )
    crash, pending = state.services[failing], state.services[stuck]
    assert (crash.running, crash.message) == (0, "task: non-zero exit (3)")
    assert pending.running == 0 and "no suitable node" in (pending.message or "")
    answer, _, _ = check_views(state, failing)
    assert answer["status"] == "error"
    assert answer["message"] == "0/1 replica running: task: non-zero exit (3)"
    with pytest.raises(EngineError, match="not found"):
        swarmtasks.service_logs(services.api, "no-such-service")


NODE_DOWN = """\
kind: Stack
project: st
services:
  web:
    image: busybox:1.36
    command: [sh, -c, "trap 'exit 0' TERM; sleep 3600 & wait"]
    deploy: {replicas: 2, endpointMode: dnsrr}
"""


@pytest.mark.docker
@pytest.mark.swarm
def test_a_node_down_shows_and_its_tasks_move_to_the_others(
    manager: docker.APIClient, node_killer: NodeKiller, tmp_path: Path
) -> None:
    """`syncd run` on the Swarm engine: a worker's dockerd killed shows as a node down in the
    status and the metrics, Swarm moves its task to the others, and syncd does not touch the
    service meanwhile (its version stays); the node revived shows Ready again."""
    repo = GitRepo(tmp_path / "repo")
    repo.write("st.yaml", NODE_DOWN)
    repo.commit("two replicas")
    instance = "st" + uuid.uuid4().hex[:8]
    env = {"SYNCD_ENGINE": "swarm", "SYNCD_DOCKER_HOST": node_killer.swarm.docker_host}
    daemon = RunningDaemon(str(repo.path), tmp_path / "data", instance, env=env)
    victim = ""
    try:
        daemon.started()

        def web(check: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
            def found() -> dict[str, Any] | None:
                swarm = daemon.status().get("swarm") or {}
                tasks = (swarm.get("services") or {}).get("st/default/web")
                return swarm if tasks and check({**swarm, **tasks}) else None

            return poll(found, 60, what)

        before = web(lambda s: s["running"] == 2, "two tasks in the status")
        service = manager.services(filters={"label": f"{LABEL_INSTANCE}={instance}"})[0]
        victim = next(n for n in before["services"]["st/default/web"]["nodes"] if n != "swn1")
        node_killer.kill(victim)
        down = web(lambda s: s["nodesDown"] == [victim], f"{victim} down in the status")
        assert [n["state"] for n in down["nodes"] if n["hostname"] == victim] == ["down"]
        assert 'syncd_swarm_nodes{state="down"} 1.0' in daemon.http.get("/metrics").text
        moved = web(
            lambda s: s["running"] == 2 and victim not in s["nodes"],
            f"the task on {victim} rescheduled",
        )
        assert moved["nodesDown"] == [victim]
        listed = daemon.http.get(f"/v2/projects/{project_id('st')}/services").json()
        nodes = ", ".join(moved["services"]["st/default/web"]["nodes"])
        assert [(s["status"], s["message"]) for s in listed] == [
            ("running", f"2/2 replicas running on {nodes}")
        ]
        again = manager.inspect_service(service["ID"])["Version"]["Index"]
        assert again == service["Version"]["Index"], "syncd updated the service during failover"
    finally:
        if victim:
            node_killer.revive(victim)
            poll(lambda: not swarmtasks.swarm_state(manager, ()).down(), 60, f"{victim} Ready")
        daemon.close()
        swarmclean.remove_instance(instance)
