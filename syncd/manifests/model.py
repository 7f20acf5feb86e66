"""The manifest kinds: `Stack`, `StackPatch` and `Registry` (pydantic v2, unknown fields forbidden).

Service fields follow mittwald's `ServiceDeclareRequest` (camelCase, as in its API), plus syncd's
`healthcheck` and `dependsOn`. Cross-document rules live in `checks`; this module only knows the
shape of one document. Pure: no I/O.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Discriminator, Field, StrictInt, Tag, model_validator
from pydantic_core import PydanticCustomError

from syncd.ids import DEFAULT_STACK, RegistryKey, StackKey
from syncd.manifests.fields import (
    DockerText,
    EnvName,
    EnvValue,
    MemberName,
    MountString,
    Name,
    PortString,
    parse_port,
)
from syncd.manifests.images import ImageRef, RegistryHost
from syncd.manifests.options import (
    MAX_HEALTH_RETRIES,
    DeployLifecycleFields,
    FilesFields,
    HealthTest,
    LifecycleFields,
    Mount,
    NetworkFields,
    ProcessFields,
    RestartText,
    SecurityFields,
    StackFilesFields,
    StackNetworkFields,
    Volume,
    VolumeName,
)
from syncd.manifests.options.devicerequests import ReservedDevices
from syncd.manifests.options.lifecycle import parse_restart
from syncd.manifests.options.schedule import ScheduleFields, StackScheduleFields
from syncd.manifests.options.swarm import DeploySwarmFields, ServiceMode, docker_restart
from syncd.manifests.quantities import CpusString, DurationString, MemoryString
from syncd.manifests.strict import StrictModel


class Kind(StrEnum):
    STACK = "Stack"
    STACK_PATCH = "StackPatch"
    REGISTRY = "Registry"


class Strategy(StrEnum):
    DECLARE = "declare"  # PUT: the document is the whole stack
    UPDATE = "update"  # PATCH: only listed services are managed


class RestartPolicy(StrEnum):
    NO = "no"
    ALWAYS = "always"
    ON_FAILURE = "on-failure"
    UNLESS_STOPPED = "unless-stopped"


class DependsCondition(StrEnum):
    STARTED = "service_started"
    HEALTHY = "service_healthy"
    COMPLETED = "service_completed_successfully"


class ResourceLimits(StrictModel):
    cpus: CpusString | None = Field(None, description="CPU cores, e.g. '0.5'")
    memory: MemoryString | None = Field(None, description="bytes, e.g. '256mb' or '1gb'")
    pids: Annotated[StrictInt, Field(ge=-1)] | None = Field(None, description="as pidsLimit")


class ResourceReservations(StrictModel):
    cpus: CpusString | None = Field(None, description="Swarm only: CPU cores a node must have free")
    memory: MemoryString | None = Field(
        None, description="as memReservation; on Swarm also memory a node must have free"
    )
    devices: ReservedDevices | None = Field(
        None, description="device requests (GPUs): [{capabilities, driver, count, deviceIds}]"
    )


class Resources(StrictModel):
    limits: ResourceLimits | None = None
    reservations: ResourceReservations | None = None


class Deploy(DeployLifecycleFields, DeploySwarmFields):
    resources: Resources | None = None

    @model_validator(mode="after")
    def _global(self) -> Deploy:
        if self.mode is ServiceMode.GLOBAL and self.replicas is not None:
            raise PydanticCustomError(
                "deploy", "mode global runs one task per node: replicas is for mode replicated"
            )
        placement = self.placement
        if self.mode is ServiceMode.GLOBAL and placement and placement.max_replicas_per_node:
            raise PydanticCustomError(
                "deploy", "placement.maxReplicasPerNode is for mode replicated, not global"
            )
        return self


class HealthCheck(StrictModel):
    """syncd extension: a Docker healthcheck. `test` as in compose (`["CMD", ...]` or a string)."""

    test: HealthTest | DockerText | None = Field(
        None,
        description="['CMD', 'arg', ...], ['CMD-SHELL', 'cmd'], ['NONE'] or a shell command; "
        "omitted: the image's own test, with these timings",
    )
    interval: DurationString | None = None
    timeout: DurationString | None = None
    start_period: DurationString | None = None
    retries: Annotated[int, Field(ge=0, le=MAX_HEALTH_RETRIES)] | None = None


def _depends_list(value: Any) -> Any:
    """`dependsOn: [db]` is short for `dependsOn: {db: service_started}`."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return dict.fromkeys(value, DependsCondition.STARTED.value)
    return value


class Dependency(StrictModel):
    """The long form of a dependency, as Compose's `depends_on`."""

    condition: DependsCondition = DependsCondition.STARTED
    restart: bool = Field(
        False, description="restart this service when the dependency is recreated"
    )
    required: bool = Field(True, description="false: a dependency not declared is no error")


DependsOn = Annotated[
    dict[MemberName, DependsCondition | Dependency], BeforeValidator(_depends_list)
]


def _mount_form(value: Any) -> str:
    return "mount" if isinstance(value, dict | Mount) else "text"


# a `volumes` entry: the short text, or the long form (one error for the form written)
MountEntry = Annotated[
    Annotated[MountString, Tag("text")] | Annotated[Mount, Tag("mount")],
    Discriminator(_mount_form),
]


class Service(
    ProcessFields, SecurityFields, NetworkFields, FilesFields, LifecycleFields, ScheduleFields
):
    """One container of a stack: mittwald's `ServiceDeclareRequest` plus syncd's extensions.

    The fields of Compose's service definition beyond mittwald's come from the option groups in
    `manifests.options` (one module per concern), named as Compose names them, in camelCase."""

    image: ImageRef | None = Field(None, description="required unless the strategy is update")
    description: str | None = None
    command: list[DockerText] | None = None
    entrypoint: list[DockerText] | None = None
    environment: dict[EnvName, EnvValue] | None = None
    envs: dict[EnvName, EnvValue] | None = Field(
        None, description="DEPRECATED alias of environment", json_schema_extra={"deprecated": True}
    )
    ports: list[PortString] | None = Field(
        None,
        description="'[<host_ip>:]<public>:<container>/<proto>', "
        "'[<host_ip>:]:<container>/<proto>' (ephemeral host port; IPv6 in brackets) "
        "or '<container>/<proto>' (project network only)",
    )
    volumes: list[MountEntry] | None = Field(
        None,
        description="'<volume>:<mountpoint>[:ro]', '/<project path>:<mountpoint>[:ro]', or "
        "{type: volume|bind|tmpfs, source, target, readOnly}",
    )
    deploy: Deploy | None = None
    restart_policy: RestartText | None = None
    healthcheck: HealthCheck | None = None
    depends_on: DependsOn | None = None

    def env(self) -> dict[str, str]:
        """The service's environment, whichever of the two field names carried it."""
        return dict(self.environment or self.envs or {})

    @model_validator(mode="after")
    def _swarm_fields(self) -> Service:
        """`deploy.portModes` names published ports; `deploy.restartPolicy` and
        `restartPolicy` say the same when both are written."""
        deploy = self.deploy
        if deploy is None:
            return self
        published = {str(parse_port(p)) for p in self.ports or []}
        for port in deploy.port_modes or {}:
            if str(parse_port(port)) not in published:
                raise PydanticCustomError(
                    "deploy", f"deploy.portModes names {port!r}, which is not in ports"
                )
        derived = docker_restart(deploy.restart_policy) if deploy.restart_policy else None
        if (
            derived
            and self.restart_policy
            and parse_restart(derived) != parse_restart(self.restart_policy)
        ):
            raise PydanticCustomError(
                "deploy", "restartPolicy and deploy.restartPolicy differ (condition or retries)"
            )
        return self


def _empty_if_null(value: Any) -> Any:
    """`volumes:` with every entry commented out is an empty map, not an error."""
    return {} if value is None else value


class Stack(StackNetworkFields, StackFilesFields, StackScheduleFields):
    kind: Literal["Stack"]
    project: Name
    name: Name = DEFAULT_STACK
    description: str | None = None
    strategy: Strategy = Strategy.DECLARE
    services: Annotated[dict[MemberName, Service], BeforeValidator(_empty_if_null)] = Field(
        default_factory=dict
    )
    volumes: Annotated[
        dict[VolumeName, Annotated[Volume, BeforeValidator(_empty_if_null)]],
        BeforeValidator(_empty_if_null),
    ] = Field(default_factory=dict)

    @property
    def key(self) -> StackKey:
        return StackKey(self.project, self.name)


MAX_PATCH_OPS = 5_000  # StackPatch operations per file: far above any overlay, far below a flood


class PatchOp(StrictModel):
    """One RFC 6902 operation."""

    op: Literal["add", "remove", "replace", "move", "copy", "test"]
    path: str
    value: Any = None
    from_: str | None = Field(None, alias="from")

    @model_validator(mode="after")
    def _operands(self) -> PatchOp:
        for pointer in (self.path, self.from_):
            if pointer is not None and pointer and not pointer.startswith("/"):
                raise PydanticCustomError(
                    "patch", f"{pointer!r} is not a JSON pointer (it must start with '/')"
                )
        if self.op in ("add", "replace", "test") and "value" not in self.model_fields_set:
            raise PydanticCustomError("patch", f"the {self.op!r} operation needs a 'value'")
        if self.op in ("move", "copy") and self.from_ is None:
            raise PydanticCustomError("patch", f"the {self.op!r} operation needs a 'from'")
        return self


class StackPatch(StrictModel):
    kind: Literal["StackPatch"]
    project: Name
    stack: Name = DEFAULT_STACK
    patch: list[PatchOp] = Field(min_length=1)

    @property
    def key(self) -> StackKey:
        return StackKey(self.project, self.stack)


def _no_literal_password(value: Any) -> Any:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        raise PydanticCustomError(
            "secret",
            "a literal password is refused: use {env: VARIABLE} (an operator's variable), "
            "{file: name} (a file in the secrets directory) or {sops: path#key} (a value of a "
            "SOPS-encrypted file of the repository)",
        )
    return value


class SecretRef(StrictModel):
    """Where a secret is read at the moment it is needed; never stored. `env`: one of the
    operator's variables (--env-file, --allow-env); `file`: a file in the secrets directory
    (--secrets-dir), as a path relative to it or an absolute path inside it; `sops`:
    `path#key`, a value of a SOPS-encrypted file of the repository (the path relative to the
    manifest's folder; the key top-level or dotted), decrypted with --age-key-file."""

    env: EnvName | None = None
    file: str | None = None
    sops: str | None = Field(default=None, pattern=r"^[^#\x00]+#[^#\x00]+$")

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if sum(v is not None for v in (self.env, self.file, self.sops)) != 1:
            raise PydanticCustomError("secret", "name exactly one of 'env', 'file' or 'sops'")
        return self

    def describe(self) -> str:
        if self.sops is not None:
            return f"sops:{self.sops}"
        return f"env:{self.env}" if self.env is not None else f"file:{self.file}"


class Credentials(StrictModel):
    username: str = Field(min_length=1)
    password: Annotated[SecretRef, BeforeValidator(_no_literal_password)]


class Registry(StrictModel):
    kind: Literal["Registry"]
    project: Name
    name: Name
    uri: RegistryHost
    description: str | None = None
    credentials: Credentials | None = None

    @property
    def key(self) -> RegistryKey:
        return RegistryKey(self.project, self.name)


Manifest = Stack | StackPatch | Registry
MODELS: dict[Kind, type[Stack] | type[StackPatch] | type[Registry]] = {
    Kind.STACK: Stack,
    Kind.STACK_PATCH: StackPatch,
    Kind.REGISTRY: Registry,
}
