"""Task-level status from a Swarm manager (docker-py's low-level client): a service's tasks,
the nodes, each service's summary and a service's logs from its tasks. The shapes and the
arithmetic are `engine.swarmview`'s (pure); here are only the Engine API calls, their errors
translated at the boundary (`EngineError`, `EngineUnavailable`)."""

from __future__ import annotations

import collections
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import Any

import docker
import docker.errors
import requests

from syncd.engine.client import explain, unavailable
from syncd.engine.logtail import bounded
from syncd.engine.swarmview import (
    NodeState,
    NodeView,
    ServiceTasks,
    SwarmState,
    TaskView,
    desired_count,
    node_view,
    summary,
    task_view,
)
from syncd.errors import EngineError

__all__ = ["ServiceTasks", "nodes", "service_logs", "summary", "swarm_state", "tasks"]


@contextmanager
def _translated(address: str | None) -> Iterator[None]:
    """Engine API errors as syncd's; an unreachable manager is named by `address` (the one the
    engine was configured with; userinfo redacted by `unavailable`)."""
    try:
        yield
    except docker.errors.APIError as err:
        raise EngineError(explain(err)) from err
    except (requests.RequestException, docker.errors.DockerException) as err:
        raise unavailable(err, address, "the Swarm manager") from err


def nodes(client: docker.APIClient, *, address: str | None = None) -> list[NodeView]:
    """Every node of the swarm, by hostname."""
    with _translated(address):
        listed = client.nodes()
    return sorted((node_view(raw) for raw in listed), key=lambda n: (n.hostname, n.id))


def tasks(
    client: docker.APIClient,
    service_id: str,
    known: list[NodeView] | None = None,
    *,
    address: str | None = None,
) -> list[TaskView]:
    """A service's tasks (Swarm keeps a few finished ones per slot), newest first."""
    listed_nodes = known if known is not None else nodes(client, address=address)
    hostnames = {n.id: n.hostname for n in listed_nodes}
    with _translated(address):
        listed = client.tasks(filters={"service": service_id})
    found = (task_view(raw, hostnames) for raw in listed)
    return sorted(
        (t for t in found if t.service_id == service_id),
        key=lambda t: (-t.updated, t.id),
    )


def swarm_state(
    client: docker.APIClient, service_ids: Collection[str], *, address: str | None = None
) -> SwarmState:
    """The nodes and each of these services' task summary, in three calls whatever their
    number (nodes, services, tasks). A service Swarm does not know is left out."""
    known = nodes(client, address=address)
    hostnames = {n.id: n.hostname for n in known}
    down = frozenset(n.id for n in known if n.state is not NodeState.READY)
    if not service_ids:
        return SwarmState(tuple(known))
    with _translated(address):
        listed = client.services(filters={"id": sorted(service_ids)})
        services = [s for s in listed if s.get("ID") in service_ids]  # (ids match prefixes)
        raw_tasks = _tasks_of(client, sorted(str(s["ID"]) for s in services))
    by_service: dict[str, list[TaskView]] = collections.defaultdict(list)
    for raw in raw_tasks:
        task = task_view(raw, hostnames)
        by_service[task.service_id].append(task)
    summaries: dict[str, ServiceTasks] = {}
    for service in services:
        own = by_service.get(str(service["ID"]), [])
        summaries[str(service["ID"])] = summary(own, desired_count(service, own, known), down)
    return SwarmState(tuple(known), summaries)


def _tasks_of(client: docker.APIClient, service_ids: list[str]) -> list[dict[str, Any]]:
    """The tasks of these services. Swarm refuses the whole filter when one of them is gone
    (removed since the listing): then every task is listed and the others left out."""
    if not service_ids:
        return []
    try:
        found: list[dict[str, Any]] = client.tasks(filters={"service": service_ids})
    except docker.errors.NotFound:
        wanted = set(service_ids)
        found = [t for t in client.tasks() if t.get("ServiceID") in wanted]
    return found


def service_logs(
    client: docker.APIClient,
    service_id: str,
    tail: int | None = None,
    *,
    address: str | None = None,
) -> str:
    """The last `tail` lines of the service's tasks (stdout and stderr, as Swarm merges them),
    and at most their last `MAX_LOG_BYTES`, cut at a line's start, like the Docker engine's."""
    with _translated(address):
        spec = client.inspect_service(service_id)["Spec"]
        tty = bool(((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("TTY"))
        stream: Any = client.service_logs(
            service_id,
            stdout=True,
            stderr=True,
            tail="all" if tail is None else tail,
            follow=False,
            is_tty=tty,
        )
        return bounded(stream)
