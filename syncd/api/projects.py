"""Projects in mittwald's full `ProjectListItem` / `Project` shapes. Pure: no I/O.

Every field mittwald requires is answered. A field is *real* where syncd knows the fact, and a
documented *constant* where the concept does not exist in syncd (README, "The `/v2` API"):

| field | value |
|---|---|
| `id`, `shortId`, `description` | uuid5 of the name, `p-` + 6 hex digits of it, the name |
| `createdAt` | when syncd first applied the project (stored; stable across restarts) |
| `status`, `readiness`, `isReady` | from the project's services (`STATUS` below) |
| `statusSetAt` | the latest `statusSetAt` of its services (`createdAt` without services) |
| `webStorageUsageInBytes`(`SetAt`) | the measured size of the project's file area, and when |
| `backupStorageUsageInBytes`(`SetAt`) | 0 since `createdAt`: syncd keeps no backups |
| `enabled`, `deletionRequested` | true, false: syncd neither disables nor deletes projects |
| `customerId`, `customerMeta.id` | constant per instance: uuid5 of `instance:<name>/customer` |
| `serverGroupId` | constant per instance: uuid5 of `instance:<name>/server-group` |
| `supportedFeatures` | `["container"]`: what a syncd project supports |
| `directories` | `{}`: syncd answers no host paths |
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from syncd.api.models import (
    CustomerMeta,
    Project,
    ProjectFeature,
    ProjectListItem,
    ProjectReadiness,
    ProjectStatus,
)
from syncd.core.live import ServiceStatus
from syncd.ids import NAMESPACE, project_id, short_id

# A service's status -> (weight, project status, readiness); a project takes its heaviest.
STATUS: dict[ServiceStatus, tuple[int, ProjectStatus, ProjectReadiness]] = {
    ServiceStatus.RUNNING: (0, ProjectStatus.READY, ProjectReadiness.READY),
    ServiceStatus.STOPPED: (0, ProjectStatus.READY, ProjectReadiness.READY),  # a declared state
    ServiceStatus.STARTING: (1, ProjectStatus.PENDING, ProjectReadiness.UNREADY),
    ServiceStatus.STOPPING: (1, ProjectStatus.PENDING, ProjectReadiness.UNREADY),
    ServiceStatus.CREATING: (2, ProjectStatus.PENDING, ProjectReadiness.CREATING),
    ServiceStatus.ERROR: (3, ProjectStatus.ERROR, ProjectReadiness.UNREADY),
}
FEATURES: list[ProjectFeature] = ["container"]
Stamp = Callable[[float], str]  # epoch seconds -> RFC 3339 (the view's `timestamp`)


def instance_id(instance: str, what: str) -> str:
    """A constant id for a concept syncd lacks (`customer`, `server-group`), one per instance.
    `instance:` cannot start a project name, so it never equals a project's or stack's id."""
    return str(uuid.uuid5(NAMESPACE, f"instance:{instance}/{what}"))


def project_status(statuses: Iterable[ServiceStatus]) -> tuple[ProjectStatus, ProjectReadiness]:
    """The project's status and readiness: those of its worst service (ready without any)."""
    worst = max((STATUS[s] for s in statuses), default=STATUS[ServiceStatus.RUNNING])
    return worst[1], worst[2]


@dataclass(frozen=True)
class ProjectFacts:
    """What syncd knows of one project when a view is built (times in epoch seconds)."""

    name: str
    services: tuple[tuple[ServiceStatus, float], ...]  # (status, statusSetAt) per service
    created_at: float
    web_bytes: int
    web_at: float


def _fields(facts: ProjectFacts, instance: str, timestamp: Stamp) -> dict[str, object]:
    pid = project_id(facts.name)
    status, readiness = project_status(s for s, _ in facts.services)
    status_at = max((at for _, at in facts.services), default=facts.created_at)
    return {
        "id": pid,
        "shortId": short_id("p", pid),
        "description": facts.name,
        "enabled": True,
        "customerId": instance_id(instance, "customer"),
        "createdAt": timestamp(facts.created_at),
        "isReady": status is ProjectStatus.READY,
        "readiness": readiness,
        "status": status,
        "statusSetAt": timestamp(status_at),
        "webStorageUsageInBytes": facts.web_bytes,
        "webStorageUsageInBytesSetAt": timestamp(facts.web_at),
        "backupStorageUsageInBytes": 0,
        "backupStorageUsageInBytesSetAt": timestamp(facts.created_at),
        "supportedFeatures": FEATURES,
        "serverGroupId": instance_id(instance, "server-group"),
        "deletionRequested": False,
    }


def project_models(
    facts: ProjectFacts, instance: str, timestamp: Stamp
) -> tuple[ProjectListItem, Project]:
    """The list item and the single object of one project."""
    fields = _fields(facts, instance, timestamp)
    item = ProjectListItem.model_validate(
        {**fields, "customerMeta": CustomerMeta(id=instance_id(instance, "customer"))}
    )
    full = Project.model_validate({**fields, "directories": {}})
    return item, full
