"""`Engine` for one Docker host, over docker-py's low-level `APIClient`.

Reading is one listing each of containers, volumes, networks and images, filtered by the
instance label, so a no-change reconcile costs four API calls whatever the number of stacks.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import docker
import docker.errors
import docker.types
import docker.utils
import requests

from syncd.engine import distribution, dockeropts, inventory
from syncd.engine.base import (
    LABEL_HASH,
    LABEL_INSTANCE,
    LABEL_NETWORK,
    LABEL_PROJECT,
    LABEL_REVISION,
    LABEL_SERVICE,
    LABEL_STACK,
    LABEL_VOLUME,
    MAX_LOG_BYTES,
    ContainerHealth,
    ContainerRequest,
    ContainerState,
    Engine,
    Health,
    Names,
    Observed,
    ObservedContainer,
    ObservedVolume,
    check_login_auth,
    check_pull_auth,
    normalize_reference,
    owner_labels,
    replica_of,
    split_reference,
)
from syncd.engine.client import engine_address, engine_errors, explain, unavailable
from syncd.engine.dockeropts import network as network_opts
from syncd.engine.dockeropts import ports as port_opts
from syncd.engine.dockeropts import volumes as volume_opts
from syncd.engine.logtail import bounded
from syncd.engine.networks import DockerNetworks
from syncd.engine.pullprogress import follow_pull
from syncd.errors import EngineError
from syncd.ids import ServiceKey, VolumeKey

API_VERSION = "1.41"  # Docker 20.10; newer engines still accept it
_STATUS_HEALTH = {
    "(health: starting)": ContainerHealth.STARTING,
    "(unhealthy)": ContainerHealth.UNHEALTHY,
    "(healthy)": ContainerHealth.HEALTHY,
}


def _health(status: str) -> ContainerHealth | None:
    """`Up 3 seconds (healthy)` -> `HEALTHY`; the listing's status line carries the health."""
    return next((health for words, health in _STATUS_HEALTH.items() if words in status), None)


class DockerEngine(Engine):
    def __init__(
        self,
        instance: str,
        publish_address: str = "127.0.0.1",
        client: docker.APIClient | None = None,
        address: str | None = None,
    ) -> None:
        """`address`: where `client` connects, as errors name it (default: `DOCKER_HOST`'s)."""
        self.instance = instance
        self.publish_address = publish_address
        self.names = Names(instance)
        self.address = address or engine_address()
        if client is None:
            try:
                client = docker.APIClient(version=API_VERSION, **docker.utils.kwargs_from_env())
            except docker.errors.DockerException as err:
                raise unavailable(err, self.address) from err
        self.api = client
        self.networks = DockerNetworks(client, instance)

    @property
    def _filter(self) -> dict[str, list[str]]:
        """A fresh filter each call: docker-py adds keys to the dict it is given."""
        return {"label": [f"{LABEL_INSTANCE}={self.instance}"]}

    @engine_errors
    def instances(self) -> frozenset[str]:
        return inventory.host_instances(self.api)  # (`inventory.Inventory`)

    def close(self) -> None:
        self.api.close()

    # -- reading -------------------------------------------------------------------------------

    @engine_errors
    def observe(self) -> Observed:
        containers = tuple(
            c
            for c in map(self._container, self.api.containers(all=True, filters=self._filter))
            if c
        )
        volumes = []
        for raw in self.api.volumes(filters=self._filter).get("Volumes") or []:
            labels = raw.get("Labels") or {}
            if all(k in labels for k in (LABEL_PROJECT, LABEL_STACK, LABEL_VOLUME)):
                key = VolumeKey(labels[LABEL_PROJECT], labels[LABEL_STACK], labels[LABEL_VOLUME])
                volumes.append(ObservedVolume(key, raw["Name"], volume_opts.observed(raw)))
        listed = self.api.networks(filters=self._filter)
        networks = frozenset(
            (n.get("Labels") or {}).get(LABEL_PROJECT, "")
            for n in listed
            if LABEL_NETWORK not in (n.get("Labels") or {})
        ) - {""}
        stack_networks = frozenset(
            n["Name"] for n in listed if LABEL_NETWORK in (n.get("Labels") or {})
        )
        images: dict[str, str] = {}
        for image in self.api.images():
            for ref in (image.get("RepoTags") or []) + (image.get("RepoDigests") or []):
                if ref not in {"<none>:<none>", "<none>@<none>"}:
                    images[normalize_reference(ref)] = image["Id"]
        return Observed(containers, tuple(volumes), networks, images, stack_networks)

    def _container(self, raw: Mapping[str, Any]) -> ObservedContainer | None:
        labels = raw.get("Labels") or {}
        if not all(k in labels for k in (LABEL_PROJECT, LABEL_STACK, LABEL_SERVICE, LABEL_HASH)):
            return None
        state = ContainerState.parse(raw.get("State", "exited"))
        return ObservedContainer(
            id=raw["Id"],
            name=(raw.get("Names") or ["/"])[0].lstrip("/"),
            key=ServiceKey(labels[LABEL_PROJECT], labels[LABEL_STACK], labels[LABEL_SERVICE]),
            hash=labels[LABEL_HASH],
            revision=labels.get(LABEL_REVISION),
            image_id=raw.get("ImageID", ""),
            state=state,
            health=_health(raw.get("Status", "")),
            created=float(raw.get("Created", 0)),
            replica=replica_of(labels),
            binds=frozenset(
                str(m.get("Source"))
                for m in raw.get("Mounts") or []
                if m.get("Type") == "bind" and m.get("Source")
            ),
            published=port_opts.published(raw.get("Ports")),
        )

    @engine_errors
    def health(self, container_id: str) -> Health:
        state = self.api.inspect_container(container_id)["State"]
        health = ContainerHealth.parse((state.get("Health") or {}).get("Status"))
        return Health(
            ContainerState.parse(state.get("Status", "exited")), health, state.get("ExitCode")
        )

    @engine_errors
    def inspect(self, container_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.api.inspect_container(container_id)
        return answer

    @engine_errors
    def environment(self, container_id: str) -> dict[str, str]:
        env = self.api.inspect_container(container_id)["Config"].get("Env") or []
        return dict(item.split("=", 1) for item in env if "=" in item)

    @engine_errors
    def logs(self, container_id: str, tail: int | None = None) -> str:
        """The last `tail` lines, and at most their last `MAX_LOG_BYTES`: a container decides
        how long its lines are, and Docker answers every line whole."""
        stream = self.api.logs(
            container_id, tail="all" if tail is None else tail, stream=True, follow=False
        )
        return bounded(stream, MAX_LOG_BYTES)

    @engine_errors
    def follow_logs(self, container_id: str, tail: int) -> Iterator[bytes]:
        """The last `tail` lines, then each chunk as the container writes it (`logs -f`)."""
        stream: Iterator[bytes] = self.api.logs(container_id, tail=tail, stream=True, follow=True)
        return stream

    @engine_errors
    def image_config(self, reference: str) -> dict[str, Any]:
        result: dict[str, Any] = self.api.inspect_image(reference)
        return result

    @engine_errors
    def volume_usage(self) -> dict[str, int]:
        volumes = self.api.df().get("Volumes") or []
        return {
            v["Name"]: max(0, int((v.get("UsageData") or {}).get("Size", 0)))
            for v in volumes
            if (v.get("Labels") or {}).get(LABEL_INSTANCE) == self.instance
        }

    def events(
        self, since: float | None = None, until: float | None = None
    ) -> Iterator[dict[str, Any]]:
        # a generator: errors surface while iterating, after a decorator would have returned
        try:
            yield from self.api.events(since=since, until=until, filters=self._filter, decode=True)
        except docker.errors.APIError as err:
            raise EngineError(explain(err)) from err
        except (requests.RequestException, docker.errors.DockerException) as err:
            raise unavailable(err, self.address) from err

    # -- writing -------------------------------------------------------------------------------

    @engine_errors
    def ensure_network(self, project: str) -> None:
        labels = {LABEL_INSTANCE: self.instance, LABEL_PROJECT: project}
        name = self.names.network(project)
        if self.api.networks(names=[name], filters=self._filter):
            return
        try:
            self.api.create_network(name, driver="bridge", labels=labels, check_duplicate=True)
        except docker.errors.APIError as err:
            if err.status_code != 409:  # created meanwhile: fine
                raise

    @engine_errors
    def ensure_volume(self, key: VolumeKey, declared: Mapping[str, Any] | None = None) -> None:
        labels = {**owner_labels(self.instance, key.stack_key), LABEL_VOLUME: key.name}
        name = self.names.volume(key)
        if not self._volume_exists(name):  # an existing one is left as it is
            self.api.create_volume(name, **volume_opts.create_kwargs(declared, labels))

    def _volume_exists(self, name: str) -> bool:
        try:
            self.api.inspect_volume(name)
        except docker.errors.NotFound:
            return False
        return True

    @engine_errors
    def pull(
        self, reference: str, auth: Mapping[str, str] | None = None, platform: str | None = None
    ) -> None:
        check_pull_auth(reference, auth)
        repository, tag = split_reference(reference)
        # `{}`, never None: docker-py fills a None from the Docker config of syncd's user
        # (`docker login`, credential helpers), which no manifest nor API token may use.
        stream = self.api.pull(
            repository,
            tag=tag,
            stream=True,
            decode=True,
            auth_config=dict(auth) if auth else {},
            platform=platform,
        )
        follow_pull(stream, reference, self.reporter)

    @engine_errors
    def create(self, request: ContainerRequest) -> str:
        api = self.api
        key, stack = request.key, request.key.stack_key
        joined = network_opts.attachments(self.names, key, request.options)
        for attachment in joined:
            self.networks.ensure(key.stack_key, attachment)
        links = list(request.options.get("links") or [])
        mode = network_opts.network_mode(self.names, key, request.options)
        first = joined[0] if joined else None
        volume_opts.check_volumes(
            self._volume_exists, request.mounts, lambda n: self.names.volume(stack.volume(n))
        )
        host_config = api.create_host_config(
            port_bindings=port_opts.port_bindings(request.ports, self.publish_address),
            mounts=[
                docker.types.Mount(
                    **dockeropts.files.mount_kwargs(
                        m,
                        m.source
                        if m.bind or m.tmpfs or m.external
                        else self.names.volume(stack.volume(m.source)),
                    )
                )
                for m in request.mounts
            ],
            restart_policy=dockeropts.lifecycle.restart_policy(
                request.restart_policy, request.options
            ),
            nano_cpus=request.nano_cpus,
            mem_limit=request.memory,
            network_mode=mode or (first.name if first else "none"),
            **dockeropts.host_kwargs(request.options),
            **dockeropts.security.shared_modes(self.names, key, request.options),
        )
        probe = port_opts.healthcheck(request.healthcheck)
        healthcheck = docker.types.Healthcheck(**probe) if probe is not None else None
        created = api.create_container(
            request.image,
            command=list(request.command) if request.command is not None else None,
            entrypoint=list(request.entrypoint) if request.entrypoint is not None else None,
            environment=dict(request.environment),
            name=self.names.container(request.key, request.replica),
            labels=dict(request.labels),
            ports=[(p.container, p.protocol) for p in request.ports],
            host_config=host_config,
            networking_config=api.create_networking_config(
                {
                    first.name: api.create_endpoint_config(
                        **network_opts.endpoint_kwargs(self.names, key, first, links)
                    )
                }
            )
            if first
            else None,
            healthcheck=healthcheck,
            stop_timeout=request.stop_timeout,
            **dockeropts.container_kwargs(request.options),
        )
        self.networks.connect(str(created["Id"]), key, joined[1:], self.names)
        return str(created["Id"])

    @engine_errors
    def prune_networks(self, unused: frozenset[str]) -> None:
        self.networks.prune(unused)

    @engine_errors
    def start(self, container_id: str) -> None:
        self.api.start(container_id)

    @engine_errors
    def restart(self, container_id: str, timeout: int) -> None:
        self.api.restart(container_id, timeout=timeout)

    @engine_errors
    def remove_volume(self, key: VolumeKey) -> None:
        self.api.remove_volume(self.names.volume(key))

    @engine_errors
    def login(self, auth: Mapping[str, str]) -> tuple[bool, str]:
        """Docker's `/auth`, called directly: docker-py's `login()` would keep the password and
        send it with every later pull from that host, credentialed or not."""
        check_login_auth(auth)
        fields = {k: auth[k] for k in ("username", "password", "serveraddress")}
        try:
            response = self.api._post_json(self.api._url("/auth"), data=fields)
            answer = self.api._result(response, json=True)
        except docker.errors.APIError as err:
            refused = err.status_code is not None and err.status_code < 500
            if refused or "unauthorized" in str(err).lower():
                return False, explain(err)
            raise
        return True, str(answer.get("Status", "Login Succeeded"))

    def distribution(self, reference: str, auth: Mapping[str, str] | None, timeout: float) -> str:
        return engine_errors(distribution.digest)(self.api, reference, auth, timeout)

    @engine_errors
    def stop(self, container_id: str, timeout: int) -> None:
        self.api.stop(container_id, timeout=timeout)

    @engine_errors
    def leave_networks(self, container_id: str) -> None:
        self.networks.leave(container_id)

    @engine_errors
    def rename(self, container_id: str, name: str) -> None:
        self.api.rename(container_id, name)

    @engine_errors
    def remove(self, container_id: str) -> None:
        try:
            self.api.remove_container(container_id, force=True, v=False)
        except docker.errors.NotFound:
            return
