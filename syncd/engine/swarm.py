"""`Engine` for a Docker Swarm, over a manager's Engine API (docker-py's low-level `APIClient`).

Each service is one Swarm service (`Names.container`), reported by `observe` as one
`ObservedContainer` per declared replica, all with the service's id: the planner counts
replicas as it does on one host, and Swarm schedules the tasks. The project network is an
attachable overlay network; volumes are local to the node that runs a task (Swarm creates them
there from the mount's options; syncd makes them on the manager too, where it lists them).
Reading is one listing each of services (with their task counts), volumes, networks and
images. Image pulls, logins and volumes go through a `DockerEngine` on the same client.
Containers are not syncd's to start, stop or rename here: the Swarm steps
(`apply.swarmsteps`) create and update services, and Swarm rolls and rolls back their tasks.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Collection, Iterator, Mapping
from typing import Any

import docker
import docker.errors
import requests

from syncd.engine import inventory, swarmtasks
from syncd.engine.base import (
    LABEL_HASH,
    LABEL_INSTANCE,
    LABEL_NETWORK,
    LABEL_PROJECT,
    LABEL_REVISION,
    LABEL_SERVICE,
    LABEL_STACK,
    LABEL_VOLUME,
    MAX_REPLICA,
    ContainerRequest,
    ContainerState,
    Health,
    Names,
    Observed,
    ObservedContainer,
    ObservedVolume,
    check_pull_auth,
    normalize_reference,
)
from syncd.engine.client import engine_errors, explain, unavailable
from syncd.engine.docker import DockerEngine
from syncd.engine.dockeropts import volumes as volume_opts
from syncd.engine.swarmapi import Progress, ServiceState, StoredFile, SwarmApi
from syncd.engine.swarmspec import LABEL_REPLICAS, drifted
from syncd.engine.swarmview import SwarmState, seconds
from syncd.errors import EngineError
from syncd.ids import ServiceKey, VolumeKey

DRIFT = "~drift"  # appended to the hash label of a service changed by hand: plans a redeploy
_NOT_HERE = "on Swarm, services are changed by the Swarm steps, never container by container"


class SwarmEngine(SwarmApi):
    def __init__(self, instance: str, client: docker.APIClient, address: str | None = None) -> None:
        self.instance = instance
        self.names = Names(instance)
        self.api = client
        self.local = DockerEngine(instance, client=client, address=address)  # images, volumes…
        self.address = self.local.address
        self._networks: dict[str, str] = {}  # project -> overlay network id
        self._drift: dict[tuple[str, int], bool] = {}  # (service id, version) -> drifted
        self._images: dict[str, str] = {}  # service id -> the image its spec names

    @property
    def _filter(self) -> dict[str, list[str]]:
        return {"label": [f"{LABEL_INSTANCE}={self.instance}"]}

    def close(self) -> None:
        self.api.close()

    @engine_errors
    def instances(self) -> frozenset[str]:
        return inventory.swarm_instances(self.api)  # (`inventory.Inventory`)

    # -- reading -------------------------------------------------------------------------------

    @engine_errors
    def observe(self) -> Observed:
        containers: list[ObservedContainer] = []
        drift: dict[tuple[str, int], bool] = {}
        images: dict[str, str] = {}
        for raw in self.api.services(filters=self._filter, status=True):
            version = (str(raw.get("ID")), int((raw.get("Version") or {}).get("Index", 0)))
            found = self._drift.get(version)
            drift[version] = drifted(raw.get("Spec") or {}) if found is None else found
            containers.extend(_replicas(raw, drift[version]))
            task = (raw.get("Spec") or {}).get("TaskTemplate") or {}
            images[version[0]] = str((task.get("ContainerSpec") or {}).get("Image", ""))
        self._drift = drift  # a spec is only digested again once its version moved
        self._images = images
        volumes = []
        for raw in self.api.volumes(filters=self._filter).get("Volumes") or []:
            labels = raw.get("Labels") or {}
            if all(k in labels for k in (LABEL_PROJECT, LABEL_STACK, LABEL_VOLUME)):
                key = VolumeKey(labels[LABEL_PROJECT], labels[LABEL_STACK], labels[LABEL_VOLUME])
                volumes.append(ObservedVolume(key, raw["Name"], volume_opts.observed(raw)))
        local: dict[str, str] = {}
        for image in self.api.images():
            for ref in (image.get("RepoTags") or []) + (image.get("RepoDigests") or []):
                if ref not in {"<none>:<none>", "<none>@<none>"}:
                    local[normalize_reference(ref)] = image["Id"]
        listed = self.api.networks(filters=self._filter)
        networks: set[str] = set()
        for network in listed:
            labels = network.get("Labels") or {}
            if LABEL_NETWORK not in labels and labels.get(LABEL_PROJECT):
                networks.add(labels[LABEL_PROJECT])
                self._networks[labels[LABEL_PROJECT]] = network["Id"]
        return Observed(tuple(containers), tuple(volumes), frozenset(networks), local)

    @engine_errors
    def health(self, container_id: str) -> Health:
        done = self.progress(container_id)
        state = ContainerState.RUNNING if _converged(done) else ContainerState.RESTARTING
        return Health(state, None, None)

    @engine_errors
    def inspect(self, container_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.api.inspect_service(container_id)
        return answer

    @engine_errors
    def environment(self, container_id: str) -> dict[str, str]:
        spec = self.api.inspect_service(container_id)["Spec"]
        env = spec["TaskTemplate"]["ContainerSpec"].get("Env") or []
        return dict(item.split("=", 1) for item in env if "=" in item)

    def logs(self, container_id: str, tail: int | None = None) -> str:
        """The service's tasks' logs (`container_id`: the service's id), the last 4 MiB."""
        return swarmtasks.service_logs(self.api, container_id, tail, address=self.address)

    def swarm_state(self, service_ids: Collection[str]) -> SwarmState:
        """The nodes and the task summaries of these services (`swarmview.TaskSource`)."""
        return swarmtasks.swarm_state(self.api, service_ids, address=self.address)

    def image_config(self, reference: str) -> dict[str, Any]:
        return self.local.image_config(reference)

    def volume_usage(self) -> dict[str, int]:
        return self.local.volume_usage()  # the manager's volumes only

    def events(
        self, since: float | None = None, until: float | None = None
    ) -> Iterator[dict[str, Any]]:
        return self.local.events(since, until)

    # -- writing -------------------------------------------------------------------------------

    @engine_errors
    def ensure_network(self, project: str) -> None:
        self.network_id(project)

    @engine_errors
    def network_id(self, project: str) -> str:
        if project in self._networks:
            return self._networks[project]
        name = self.names.network(project)
        found = self.api.networks(names=[name], filters=self._filter)
        if not found:
            labels = {LABEL_INSTANCE: self.instance, LABEL_PROJECT: project}
            try:
                self.api.create_network(
                    name, driver="overlay", attachable=True, labels=labels, check_duplicate=True
                )
            except docker.errors.APIError as err:
                if err.status_code != 409:  # created meanwhile: fine
                    raise
            found = self.api.networks(names=[name], filters=self._filter)
        exact = [n for n in found if n.get("Name") == name]
        if not exact:
            raise EngineError(f"network {name} was not created")
        self._networks[project] = str(exact[0]["Id"])
        return self._networks[project]

    def ensure_volume(self, key: VolumeKey, declared: Mapping[str, Any] | None = None) -> None:
        self.local.ensure_volume(key, declared)

    def pull(
        self, reference: str, auth: Mapping[str, str] | None = None, platform: str | None = None
    ) -> None:
        """On the manager (each node pulls what its tasks run by itself)."""
        self.local.pull(reference, auth, platform)

    def create(self, request: ContainerRequest) -> str:
        raise EngineError(_NOT_HERE)

    def start(self, container_id: str) -> None:
        raise EngineError(_NOT_HERE)

    def restart(self, container_id: str, timeout: int) -> None:
        raise EngineError(_NOT_HERE)

    def stop(self, container_id: str, timeout: int) -> None:
        raise EngineError(_NOT_HERE)

    def set_aside(self, container_id: str) -> str:
        raise EngineError(_NOT_HERE)

    def remove_volume(self, key: VolumeKey) -> None:
        self.local.remove_volume(key)

    def login(self, auth: Mapping[str, str]) -> tuple[bool, str]:
        return self.local.login(auth)

    def distribution(self, reference: str, auth: Mapping[str, str] | None, timeout: float) -> str:
        return self.local.distribution(reference, auth, timeout)

    def remove(self, container_id: str) -> None:
        """A stray service (a second one with the same labels, made by hand)."""
        self.remove_service(container_id)

    # -- services ------------------------------------------------------------------------------

    @engine_errors
    def service(self, service_id: str) -> ServiceState:
        raw = self.api.inspect_service(service_id)
        status = raw.get("UpdateStatus") or {}
        return ServiceState(
            id=str(raw["ID"]),
            version=int(raw["Version"]["Index"]),
            spec=raw["Spec"],
            previous=raw.get("PreviousSpec"),
            update_state=status.get("State"),
            update_started=status.get("StartedAt"),
            update_message=status.get("Message"),
        )

    @engine_errors
    def progress(self, service_id: str) -> Progress:
        found = self.api.services(filters={"id": service_id}, status=True)
        status = (found[0].get("ServiceStatus") or {}) if found else {}
        tasks = self.api.tasks(filters={"service": service_id})
        failed = [t for t in tasks if (t.get("Status") or {}).get("Err")]
        failed.sort(key=lambda t: str(t.get("UpdatedAt", "")))
        error = str(failed[-1]["Status"]["Err"]) if failed else None
        return Progress(
            int(status.get("RunningTasks", 0)), int(status.get("DesiredTasks", 0)), error
        )

    def spec_image(self, service_id: str) -> str | None:
        return self._images.get(service_id)

    @engine_errors
    def create_service(self, spec: Mapping[str, Any], auth: Mapping[str, str] | None = None) -> str:
        headers = _registry_auth(spec, auth)
        url = self.api._url("/services/create")
        response = self.api._post_json(url, data=dict(spec), headers=headers)
        return str(self.api._result(response, json=True)["ID"])

    @engine_errors
    def update_service(
        self,
        service_id: str,
        version: int,
        spec: Mapping[str, Any],
        auth: Mapping[str, str] | None = None,
    ) -> None:
        """Without `auth`, Swarm keeps the credentials the service had."""
        headers = _registry_auth(spec, auth)
        url = self.api._url("/services/{0}/update", service_id)
        params = {"version": version}
        response = self.api._post_json(url, data=dict(spec), params=params, headers=headers)
        self.api._raise_for_status(response)

    @engine_errors
    def remove_service(self, service_id: str) -> None:
        try:
            self.api.remove_service(service_id)
        except docker.errors.NotFound:
            return

    # -- configs and secrets -------------------------------------------------------------------

    @engine_errors
    def ensure_file(self, secret: bool, name: str, data: bytes, labels: Mapping[str, str]) -> str:
        listing = self.api.secrets if secret else self.api.configs
        found = [f for f in listing(filters={"name": name}) if f["Spec"]["Name"] == name]
        if found:
            return str(found[0]["ID"])
        create = self.api.create_secret if secret else self.api.create_config
        try:
            return str(create(name, data, labels=dict(labels))["ID"])
        except docker.errors.APIError as err:
            if err.status_code != 409:
                raise
        found = [f for f in listing(filters={"name": name}) if f["Spec"]["Name"] == name]
        if not found:
            raise EngineError(f"{'secret' if secret else 'config'} {name} was not created")
        return str(found[0]["ID"])

    @engine_errors
    def files(self, key: ServiceKey) -> list[StoredFile]:
        wanted = [
            f"{LABEL_INSTANCE}={self.instance}",
            f"{LABEL_PROJECT}={key.project}",
            f"{LABEL_STACK}={key.stack}",
            f"{LABEL_SERVICE}={key.name}",
        ]
        out = []
        for secret, listing in ((False, self.api.configs), (True, self.api.secrets)):
            for raw in listing(filters={"label": list(wanted)}):
                out.append(StoredFile(secret, str(raw["ID"]), str(raw["Spec"]["Name"])))
        return out

    def remove_file(self, file: StoredFile) -> bool:
        remove = self.api.remove_secret if file.secret else self.api.remove_config
        try:
            remove(file.id)
        except docker.errors.NotFound:
            return True
        except docker.errors.APIError as err:
            if err.status_code == 400:  # in use by a service
                return False
            raise EngineError(explain(err)) from err
        except (requests.RequestException, docker.errors.DockerException) as err:
            raise unavailable(err, self.address) from err
        return True


def _registry_auth(spec: Mapping[str, Any], auth: Mapping[str, str] | None) -> dict[str, str]:
    """The `X-Registry-Auth` header (URL-safe base64 of the JSON, as the Engine API takes it)
    for the spec's image, only for its own registry host (`check_pull_auth`); none without
    credentials (never the Docker config of syncd's user, which docker-py would send)."""
    if not auth:
        return {}
    image = str(spec["TaskTemplate"]["ContainerSpec"]["Image"])
    check_pull_auth(image, auth)
    encoded = base64.urlsafe_b64encode(json.dumps(dict(auth)).encode()).decode()
    return {"X-Registry-Auth": encoded}


def _converged(progress: Progress) -> bool:
    return progress.running >= progress.desired


def _replicas(raw: Mapping[str, Any], drift: bool) -> list[ObservedContainer]:
    """One `ObservedContainer` per declared replica; none for a service not syncd's."""
    spec = raw.get("Spec") or {}
    labels = spec.get("Labels") or {}
    if not all(k in labels for k in (LABEL_PROJECT, LABEL_STACK, LABEL_SERVICE, LABEL_HASH)):
        return []
    text = labels.get(LABEL_REPLICAS, "1")
    count = int(text) if text.isascii() and text.isdigit() and len(text) <= 4 else 1
    status = raw.get("ServiceStatus") or {}
    running, desired = int(status.get("RunningTasks", 0)), int(status.get("DesiredTasks", 0))
    state = ContainerState.RUNNING if running >= desired else ContainerState.RESTARTING
    key = ServiceKey(labels[LABEL_PROJECT], labels[LABEL_STACK], labels[LABEL_SERVICE])
    hash_ = labels[LABEL_HASH] + (DRIFT if drift else "")
    return [
        ObservedContainer(
            id=str(raw["ID"]),
            name=str(spec.get("Name", "")),
            key=key,
            hash=hash_,
            revision=labels.get(LABEL_REVISION),
            image_id="",  # each node resolves the image itself
            state=state,
            health=None,
            created=seconds(raw.get("CreatedAt")),  # the service's creation
            replica=replica,
        )
        for replica in range(1, min(count, MAX_REPLICA) + 1)
    ]
