"""Which syncd instances have objects on an engine: every `syncd.instance` label, whoever owns
it (`syncd plan` names them when its own instance has nothing there)."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import docker

from syncd.engine.base import LABEL_INSTANCE


@runtime_checkable
class Inventory(Protocol):
    """An engine that can list the instances that have objects on it."""

    def instances(self) -> frozenset[str]: ...


def _values(labels: list[Any]) -> frozenset[str]:
    return frozenset(str((found or {}).get(LABEL_INSTANCE) or "") for found in labels) - {""}


def host_instances(api: docker.APIClient) -> frozenset[str]:
    """The instances of the containers, volumes and networks of a Docker host."""

    def labelled() -> dict[str, list[str]]:  # fresh each call: docker-py adds keys to it
        return {"label": [LABEL_INSTANCE]}  # the label with any value

    volumes = api.volumes(filters=labelled()).get("Volumes") or []
    found = [c.get("Labels") for c in api.containers(all=True, filters=labelled())]
    found += [v.get("Labels") for v in volumes]
    found += [n.get("Labels") for n in api.networks(filters=labelled())]
    return _values(found)


def swarm_instances(api: docker.APIClient) -> frozenset[str]:
    """The instances of a Swarm's services, and of the manager's own containers and volumes."""
    services = api.services(filters={"label": [LABEL_INSTANCE]})
    return host_instances(api) | _values([(s.get("Spec") or {}).get("Labels") for s in services])
