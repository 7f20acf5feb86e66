"""The `/v2` response shapes, written after mittwald's container API v2 (field names, enums and
required fields as in its spec; syncd does not load the spec at run time). Pure: no I/O."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from syncd.core.live import ServiceStatus

RestartPolicyName = Literal["no", "always", "on-failure", "unless-stopped"]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Error(Model):
    type: str
    message: str


class ValidationErrorItem(Model):
    message: str
    path: str
    type: str
    context: dict[str, str] | None = None


class ValidationErrors(Model):
    type: Literal["ValidationError"] = "ValidationError"
    message: str = "Validation failed"
    validationErrors: list[ValidationErrorItem]  # mittwald's field name


class ServiceState(Model):
    image: str
    imageDigest: str | None = None
    command: list[str] | None = None
    entrypoint: list[str] | None = None
    envs: dict[str, str] | None = None
    ports: list[str] | None = None
    volumes: list[str] | None = None


class ResourceSpec(Model):
    cpus: str | None = None
    memory: str | None = None


class Resources(Model):
    limits: ResourceSpec | None = None


class Deploy(Model):
    resources: Resources | None = None


class ServiceResponse(Model):
    """camelCase field names are mittwald's."""

    id: str
    stackId: str
    projectId: str
    description: str
    serviceName: str
    shortId: str
    pendingState: ServiceState
    deployedState: ServiceState
    requiresRecreate: bool
    status: ServiceStatus
    statusSetAt: str  # RFC 3339 date-time
    message: str | None = None
    deploy: Deploy | None = None
    restartPolicy: RestartPolicyName | None = None


class VolumeResponse(Model):
    id: str
    stackId: str
    name: str
    orphaned: bool
    linkedServices: list[str] = Field(default_factory=list)
    storageUsageInBytes: int
    storageUsageInBytesSetAt: str


class UpdateScheduleResponse(Model):
    cron: str
    timezone: str


class StackResponse(Model):
    id: str
    projectId: str
    description: str
    disabled: bool
    prefix: str
    services: list[ServiceResponse] = Field(default_factory=list)
    volumes: list[VolumeResponse] = Field(default_factory=list)
    updateSchedule: UpdateScheduleResponse | None = None


class RegistryCredentials(Model):
    username: str
    valid: bool


class Registry(Model):
    id: str
    projectId: str
    uri: str
    description: str
    credentials: RegistryCredentials | None = None


class ProjectStatus(StrEnum):
    """mittwald's `ProjectStatus` (syncd uses pending, ready and error)."""

    PENDING = "pending"
    READY = "ready"
    PREPARING_FOR_VOLUME_MIGRATION = "preparingForVolumeMigration"
    MIGRATING_VOLUME = "migratingVolume"
    ERROR = "error"
    DISABLED = "disabled"


class ProjectReadiness(StrEnum):
    """mittwald's deprecated `DeprecatedProjectReadinessStatus`, still required in answers."""

    CREATING = "creating"
    READY = "ready"
    UNREADY = "unready"


ProjectFeature = Literal["redis", "node", "runtimeApps", "container"]


class CustomerMeta(Model):
    id: str


class ProjectFields(Model):
    """The fields mittwald's `ProjectListItem` and `Project` share (all required there).
    Which are measured and which are constants: `syncd.api.projects`."""

    id: str
    shortId: str
    description: str
    enabled: bool
    customerId: str
    createdAt: str  # RFC 3339 date-time
    isReady: bool
    readiness: ProjectReadiness
    status: ProjectStatus
    statusSetAt: str
    webStorageUsageInBytes: int
    webStorageUsageInBytesSetAt: str
    backupStorageUsageInBytes: int
    backupStorageUsageInBytesSetAt: str
    supportedFeatures: list[ProjectFeature]
    serverGroupId: str


class ProjectListItem(ProjectFields):
    """An item of `GET /v2/projects`."""

    customerMeta: CustomerMeta
    deletionRequested: bool


class Project(ProjectFields):
    """`GET /v2/projects/{projectId}`."""

    directories: dict[str, str]
    deletionRequested: bool


class ImageEnv(Model):
    key: str
    value: str | None = None
    isAiGenerated: bool = False


class ImagePort(Model):
    port: str
    isAiGenerated: bool = False


class ImageVolume(Model):
    volume: str
    isAiGenerated: bool = False


class ContainerImageConfig(Model):
    user: str
    userId: int
    isUserRoot: bool
    hasAiGeneratedData: bool = False
    isAiAvailable: bool = False
    digest: str
    command: list[str] | None = None
    entrypoint: list[str] | None = None
    env: list[ImageEnv] = Field(default_factory=list)
    exposedPorts: list[ImagePort] = Field(default_factory=list)
    volumes: list[ImageVolume] = Field(default_factory=list)


class RegistryUri(Model):
    registryUri: str


class UriValidity(Model):
    valid: bool
    reason: str | None = None


class CredentialsValidity(Model):
    valid: bool
