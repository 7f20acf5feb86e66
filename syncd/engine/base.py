"""The engine interface: everything syncd asks of a container engine, and the shapes it answers.
The reconciler speaks only to `Engine`; `DockerEngine` implements it for one Docker host and
`SwarmEngine` for a Swarm manager. Requests and observations are engine-neutral values."""

from __future__ import annotations

import hashlib
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from syncd.errors import CredentialsHostMismatch, EngineError
from syncd.ids import ServiceKey, StackKey, VolumeKey
from syncd.manifests.fields import DNS_LABEL
from syncd.manifests.images import HOST, image_registry_address, registry_address
from syncd.manifests.model import RestartPolicy
from syncd.progress import SILENT, Progress

MAX_LOG_BYTES = 4 * 1024 * 1024  # a logs answer: the last 4 MiB of the lines asked for
LABEL_PREFIX = "syncd."
LABEL_INSTANCE = "syncd.instance"
LABEL_PROJECT = "syncd.project"
LABEL_STACK = "syncd.stack"
LABEL_SERVICE = "syncd.service"
LABEL_VOLUME = "syncd.volume"
LABEL_HASH = "syncd.hash"
LABEL_REVISION = "syncd.revision"
LABEL_NETWORK = "syncd.network"  # a stack's own network (its key); the project network has none
LABEL_REPLICA = "syncd.replica"  # 2, 3, ... on a service's further replicas; absent: replica 1
MAX_REPLICA = 1000


class ContainerState(StrEnum):
    CREATED = "created"
    RUNNING = "running"
    RESTARTING = "restarting"
    PAUSED = "paused"
    REMOVING = "removing"
    EXITED = "exited"
    DEAD = "dead"

    @classmethod
    def parse(cls, value: Any) -> ContainerState:
        """The engine's word; one syncd does not know reads as `DEAD` (not a state to trust)."""
        try:
            return cls(value)
        except ValueError:
            return cls.DEAD


class ContainerHealth(StrEnum):
    """A container's healthcheck verdict; None where a container has no healthcheck."""

    STARTING = "starting"
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"

    @classmethod
    def parse(cls, value: Any) -> ContainerHealth | None:
        """The engine's word; None for no healthcheck (`none`, absent) or an unknown word."""
        try:
            return cls(value)
        except ValueError:
            return None


@dataclass(frozen=True)
class ObservedContainer:
    id: str
    name: str
    key: ServiceKey
    hash: str
    revision: str | None
    image_id: str
    state: ContainerState
    health: ContainerHealth | None  # None: no healthcheck
    created: float
    replica: int = 1  # which of the service's replicas (1-based)
    binds: frozenset[str] = frozenset()  # host paths of its bind mounts
    published: tuple[str, ...] = ()  # the host ports Docker bound: `127.0.0.1:49153->5432/tcp`


@dataclass(frozen=True)
class ObservedVolume:
    key: VolumeKey
    name: str
    # {driver, driverOpts, labels} as the engine has them (syncd's labels left out); None: unknown
    declared: Mapping[str, Any] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Observed:
    """One listing of everything an instance owns, plus the local image index."""

    containers: tuple[ObservedContainer, ...] = ()
    volumes: tuple[ObservedVolume, ...] = ()
    networks: frozenset[str] = frozenset()  # projects whose network exists
    images: Mapping[str, str] = field(default_factory=dict)  # normalized reference -> image id
    stack_networks: frozenset[str] = frozenset()  # engine names of the stacks' own networks

    def image_id(self, reference: str) -> str | None:
        return self.images.get(normalize_reference(reference))


@dataclass(frozen=True)
class Mount:
    target: str
    source: str  # an engine volume name, or an absolute host path for a bind mount
    bind: bool = False
    read_only: bool = False
    propagation: str | None = None  # a bind's
    no_copy: bool = False  # a volume's: do not copy the image's files into it
    tmpfs: bool = False  # a tmpfs mount (no source)
    tmpfs_size: int | None = None
    tmpfs_mode: int | None = None
    external: bool = False  # `source` names an existing volume made outside syncd: never create


@dataclass(frozen=True)
class Port:
    container: int
    protocol: str
    public: int | None = None  # None: reachable inside the project network only
    host_ip: str | None = None  # None: the publish address setting
    ephemeral: bool = False  # published on a host port Docker picks
    public_last: int | None = None  # a host port range `public`-`public_last`: Docker picks one


@dataclass(frozen=True)
class HealthProbe:
    """Timings in seconds; a zero timing or an empty test: the image's, else Docker's default."""

    test: tuple[str, ...]
    interval: float
    timeout: float
    start_period: float
    retries: int


@dataclass(frozen=True)
class ContainerRequest:
    """One container to create: engine-neutral, complete, with the values it must run with."""

    key: ServiceKey
    image: str
    labels: Mapping[str, str]
    command: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    environment: Mapping[str, str] = field(default_factory=dict, repr=False)
    ports: tuple[Port, ...] = ()
    mounts: tuple[Mount, ...] = ()
    nano_cpus: int | None = None
    memory: int | None = None
    restart_policy: RestartPolicy = RestartPolicy.NO
    healthcheck: HealthProbe | None = None
    stop_timeout: int = 10
    # Canonical values of the option fields (`core.options`), keyed by syncd's field names;
    # each engine maps them to its own API (`engine.dockeropts` for Docker).
    options: Mapping[str, Any] = field(default_factory=dict)
    replica: int = 1  # which of the service's replicas (1-based): names the container


@dataclass(frozen=True)
class Health:
    state: ContainerState
    health: ContainerHealth | None
    exit_code: int | None


class Engine(ABC):
    """A container engine as syncd needs it. Implementations own naming and labelling."""

    instance: str
    reporter: Progress = SILENT  # who hears of pulls, creates and health waits (`syncd.progress`)

    # -- reading -------------------------------------------------------------------------------
    @abstractmethod
    def observe(self) -> Observed:
        """Everything this instance owns, in a constant number of engine calls."""

    @abstractmethod
    def health(self, container_id: str) -> Health: ...

    @abstractmethod
    def inspect(self, container_id: str) -> dict[str, Any]:
        """The container's full configuration as the engine reports it."""

    @abstractmethod
    def environment(self, container_id: str) -> dict[str, str]:
        """The environment a container runs with (to carry secrets syncd does not keep)."""

    @abstractmethod
    def logs(self, container_id: str, tail: int | None = None) -> str: ...

    @abstractmethod
    def image_config(self, reference: str) -> dict[str, Any]:
        """The image's inspect answer (config, digests); `EngineError` if it is not present."""

    @abstractmethod
    def volume_usage(self) -> dict[str, int]:
        """Bytes used per engine volume name (slow on the engine: call it rarely)."""

    @abstractmethod
    def events(
        self, since: float | None = None, until: float | None = None
    ) -> Iterator[dict[str, Any]]:
        """Engine events about this instance's objects (for triggers)."""

    # -- writing -------------------------------------------------------------------------------
    @abstractmethod
    def ensure_network(self, project: str) -> None: ...

    @abstractmethod
    def ensure_volume(self, key: VolumeKey, declared: Mapping[str, Any] | None = None) -> None:
        """Create the volume unless it exists, with `declared` ({driver, driverOpts, labels});
        an existing volume is left as it is (changing it would lose its data)."""

    def prune_networks(self, unused: frozenset[str]) -> None:  # noqa: B027 - optional hook
        """Remove these stack networks (engine names) where no container uses them any more;
        the stacks' own networks are created by `create`, from the request's options."""

    @abstractmethod
    def pull(
        self, reference: str, auth: Mapping[str, str] | None = None, platform: str | None = None
    ) -> None:
        """Pull an image (for `platform`, e.g. `linux/arm64`, when given); `auth` (docker-py's
        `auth_config`) only for its own registry host: implementations call `check_pull_auth`
        first."""

    @abstractmethod
    def create(self, request: ContainerRequest) -> str:
        """Create (not start) the container; its id."""

    @abstractmethod
    def start(self, container_id: str) -> None: ...

    @abstractmethod
    def restart(self, container_id: str, timeout: int) -> None: ...

    @abstractmethod
    def remove_volume(self, key: VolumeKey) -> None:
        """Delete a volume and its data: only ever on an explicit request."""

    @abstractmethod
    def login(self, auth: Mapping[str, str]) -> tuple[bool, str]:
        """Whether the registry `auth["serveraddress"]` accepts these credentials, and its answer;
        implementations call `check_login_auth` first."""

    def distribution(self, reference: str, auth: Mapping[str, str] | None, timeout: float) -> str:
        """The digest the registry gives for `reference` (nothing pulled); `EngineError`."""
        raise EngineError("this engine cannot resolve images at their registry")

    @abstractmethod
    def stop(self, container_id: str, timeout: int) -> None: ...

    def leave_networks(self, container_id: str) -> None:  # noqa: B027 - optional hook
        """Out of its networks, so its DNS names go before it stops (start-first)."""

    def set_aside(self, container_id: str) -> str:
        """Rename a running container out of its name, so that its replacement can take the
        name while it still runs (a start-first update); the name it had."""
        name = str(self.inspect(container_id).get("Name", "")).lstrip("/")
        if name != (aside := Names.aside(name, container_id)):  # else: set aside before
            self.rename(container_id, aside)
        return name

    def rename(self, container_id: str, name: str) -> None:
        """Give a container set aside its name back (a start-first update that failed)."""
        raise EngineError("this engine cannot rename a container")

    @abstractmethod
    def remove(self, container_id: str) -> None:
        """Remove a container (never its named volumes)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


def normalize_reference(reference: str) -> str:
    """`busybox` -> `busybox:latest`; `docker.io/library/x:1` -> `x:1`; digests kept as they are."""
    ref = reference
    for prefix in ("docker.io/", "index.docker.io/"):
        if ref.startswith(prefix):
            ref = ref[len(prefix) :]
    if ref.startswith("library/") and ref.count("/") == 1:
        ref = ref[len("library/") :]
    if "@" in ref:
        return ref
    last = ref.rsplit("/", 1)[-1]
    return ref if ":" in last else f"{ref}:latest"


def owner_labels(instance: str, stack: StackKey) -> dict[str, str]:
    return {LABEL_INSTANCE: instance, LABEL_PROJECT: stack.project, LABEL_STACK: stack.stack}


def service_labels(
    instance: str, key: ServiceKey, hash_: str, revision: str | None, replica: int = 1
) -> dict[str, str]:
    labels = {**owner_labels(instance, key.stack_key), LABEL_SERVICE: key.name, LABEL_HASH: hash_}
    if revision:
        labels[LABEL_REVISION] = revision
    if replica != 1:
        labels[LABEL_REPLICA] = str(replica)
    return labels


def replica_of(labels: Mapping[str, str]) -> int:
    """A container's replica number from its label: 1 when absent; 0 (no replica syncd would
    make: a stray) when it is not a number in range."""
    text = labels.get(LABEL_REPLICA)
    if text is None:
        return 1
    if not text.isascii() or not text.isdigit() or len(text) > 4:
        return 0
    number = int(text)
    return number if 1 <= number <= MAX_REPLICA else 0


def split_reference(reference: str) -> tuple[str, str | None]:
    """`host:5000/a/b:1.0` -> (`host:5000/a/b`, `1.0`); digest references keep their digest."""
    if "@" in reference:
        repo, digest = reference.split("@", 1)
        return repo, digest
    head, _, last = reference.rpartition("/")
    if ":" in last:
        name, tag = last.split(":", 1)
        return (f"{head}/{name}" if head else name), tag
    return reference, "latest"


@dataclass(frozen=True)
class Names:
    """Engine object names of one instance: `shop_default_web` (other instances: `blue_shop_...`).

    Project and stack names are DNS labels (no `_`), so names never collide, whatever `_` and
    `.` a service or volume name holds (`shop_default_my_app.web`).
    """

    instance: str

    @property
    def prefix(self) -> str:
        return "" if self.instance == "default" else f"{self.instance}_"

    def container(self, key: ServiceKey, replica: int = 1) -> str:
        """Replica 1 has the service's name; the others `<name>.<n>` (`.` is in no name)."""
        base = f"{self.prefix}{key.project}_{key.stack}_{key.name}"
        return base if replica == 1 else f"{base}.{replica}"

    @staticmethod
    def aside(name: str, container_id: str) -> str:
        """The name a container is set aside under while its replacement takes `name`."""
        return f"{name.split('.old-', maxsplit=1)[0]}.old-{container_id[:12]}"

    def volume(self, key: VolumeKey) -> str:
        """A volume name in Compose's alphabet (`my_vol.v2`, `Data`) is made a DNS label with a
        digest of the name (`my-vol-v2-1a2b3c4d`): no `_` in a part, so names never collide."""
        name = key.name
        if name and not DNS_LABEL.fullmatch(name):  # ("": the stack's prefix)
            digest = hashlib.sha256(name.encode()).hexdigest()[:8]
            name = f"{re.sub(r'[^a-z0-9-]', '-', name.lower())}-{digest}"
        return f"{self.prefix}{key.project}_{key.stack}_{name}"

    def network(self, project: str) -> str:
        return f"{self.prefix}{project}_network"

    def stack_network(self, stack: StackKey, key: str, definition: Mapping[str, Any]) -> str:
        """A stack's own network: `shop_default_front_<digest of its definition>` (a changed
        definition is a new network; the old one goes once unused). An external network keeps
        the name it has."""
        if definition.get("external"):
            return str(definition["name"])
        text = json.dumps(definition, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(text.encode()).hexdigest()[:12]
        return f"{self.prefix}{stack.project}_{stack.stack}_{key}_{digest}"


def check_pull_auth(reference: str, auth: Mapping[str, str] | None) -> None:
    """The engine's own guard: credentials go only to the host and port the image is pulled
    from, whoever built them (`CredentialsHostMismatch` otherwise, before anything is sent)."""
    if not auth:
        return
    server = auth.get("serveraddress", "")
    target = image_registry_address(reference)
    if not server or registry_address(server) != target:
        raise CredentialsHostMismatch(server or "(no serveraddress)", target, reference)


def check_login_auth(auth: Mapping[str, str]) -> None:
    """A login goes to `serveraddress`, which must be a bare `host[:port]` (no scheme or path
    for Docker to read differently)."""
    server = auth.get("serveraddress", "")
    if not HOST.fullmatch(server):
        raise EngineError(f"refusing to log in to {server!r}: not a registry host[:port]")
