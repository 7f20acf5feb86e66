"""The `/v2` reads: projects, stacks, services, volumes and registries from the view of the
daemon's snapshot (lists with filters and pagination, single objects), and a service's logs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import PlainTextResponse

from syncd.api.models import (
    Project,
    ProjectListItem,
    Registry,
    ServiceResponse,
    StackResponse,
    VolumeResponse,
)
from syncd.api.paging import (
    MAX_TAIL,
    NOT_FOUND,
    Limit,
    Page,
    Skip,
    not_found,
    page,
    search,
    sort_projects,
)
from syncd.api.wiring import Wiring, readable_logs
from syncd.core.live import ServiceStatus


def routes(api: APIRouter, wiring: Wiring) -> None:
    """The GET routes: lists with filters and pagination, single objects, logs."""
    view = wiring.view

    @api.get("/projects", response_model_exclude_none=True, response_model=list[ProjectListItem])
    async def list_projects(
        *,
        customerId: str | None = None,
        serverId: str | None = None,
        searchTerm: str | None = None,
        sort: Literal["createdAt", "description"] = "createdAt",
        order: Literal["asc", "desc"] = "asc",
        limit: Limit = 1000,
        skip: Skip = 0,
        page_: Page = None,
    ) -> Response:
        current = view()
        items = [
            p
            for p in current.project_items.values()
            if (customerId is None or p.customerId == customerId)
            and serverId is None  # syncd's projects are on no mittwald server
            and search(searchTerm, p.id, p.shortId, p.description)
        ]
        return page(current, sort_projects(items, sort, order == "desc"), limit, skip, page_)

    @api.get(
        "/projects/{projectId}",
        response_model_exclude_none=True,
        response_model=Project,
        responses=NOT_FOUND,
    )
    async def get_project(projectId: str) -> Any:
        found = view().projects.get(projectId) or next(
            (p for p in view().projects.values() if projectId in (p.shortId, p.description)), None
        )
        return found or not_found("project", projectId)

    @api.get(
        "/projects/{projectId}/stacks",
        response_model_exclude_none=True,
        response_model=list[StackResponse],
    )
    async def list_stacks(
        *,
        projectId: str,
        searchTerm: str | None = None,
        limit: Limit = 1000,
        skip: Skip = 0,
        page_: Page = None,
    ) -> Response:
        current = view()
        stacks = [
            s
            for s in current.stacks.values()
            if s.projectId == projectId and search(searchTerm, s.description, s.prefix)
        ]
        return page(current, sorted(stacks, key=lambda s: s.prefix), limit, skip, page_)

    @api.get(
        "/projects/{projectId}/services",
        response_model_exclude_none=True,
        response_model=list[ServiceResponse],
    )
    async def list_services(
        *,
        projectId: str,
        stackId: str | None = None,
        status: ServiceStatus | None = None,
        requiresRecreate: bool | None = None,
        searchTerm: str | None = None,
        sortOrder: Literal["descriptionAsc", "descriptionDesc"] | None = None,
        limit: Limit = 1000,
        skip: Skip = 0,
        page_: Page = None,
    ) -> Response:
        current = view()
        services = [
            s
            for s in current.services.values()
            if s.projectId == projectId
            and (stackId is None or s.stackId == stackId)
            and (status is None or s.status is status)
            and (requiresRecreate is None or s.requiresRecreate is requiresRecreate)
            and search(searchTerm, s.serviceName, s.description)
        ]
        if sortOrder is None:
            services.sort(key=lambda s: (s.stackId, s.serviceName))
        else:
            services.sort(
                key=lambda s: (s.description, s.serviceName), reverse=sortOrder == "descriptionDesc"
            )
        return page(current, services, limit, skip, page_)

    @api.get(
        "/projects/{projectId}/volumes",
        response_model_exclude_none=True,
        response_model=list[VolumeResponse],
    )
    async def list_volumes(
        *,
        projectId: str,
        stackId: str | None = None,
        searchTerm: str | None = None,
        sortOrder: Literal["nameAsc", "nameDesc", "storageAsc", "storageDesc"] | None = None,
        limit: Limit = 1000,
        skip: Skip = 0,
        page_: Page = None,
    ) -> Response:
        current = view()
        project_stacks = {s.id for s in current.stacks.values() if s.projectId == projectId}
        volumes = [
            v
            for v in current.volumes.values()
            if v.stackId in project_stacks
            and (stackId is None or v.stackId == stackId)
            and search(searchTerm, v.name)
        ]
        order = sortOrder or "nameAsc"
        if order.startswith("storage"):
            volumes.sort(
                key=lambda v: (v.storageUsageInBytes, v.name), reverse=order == "storageDesc"
            )
        else:
            volumes.sort(key=lambda v: (v.name, v.stackId), reverse=order == "nameDesc")
        return page(current, volumes, limit, skip, page_)

    @api.get(
        "/projects/{projectId}/registries",
        response_model_exclude_none=True,
        response_model=list[Registry],
    )
    async def list_registries(
        *,
        projectId: str,
        hasCredentials: bool | None = None,
        limit: Limit = 1000,
        skip: Skip = 0,
        page_: Page = None,
    ) -> Response:
        current = view()
        registries = [
            r
            for r in current.registries.values()
            if r.projectId == projectId
            and (hasCredentials is None or (r.credentials is not None) is hasCredentials)
        ]
        return page(current, sorted(registries, key=lambda r: r.uri), limit, skip, page_)

    @api.get(
        "/stacks/{stackId}",
        response_model_exclude_none=True,
        response_model=StackResponse,
        responses=NOT_FOUND,
    )
    async def get_stack(stackId: str) -> Any:
        return view().stacks.get(stackId) or not_found("stack", stackId)

    @api.get(
        "/stacks/{stackId}/services/{serviceId}",
        response_model_exclude_none=True,
        response_model=ServiceResponse,
        responses=NOT_FOUND,
    )
    async def get_service(stackId: str, serviceId: str) -> Any:
        return view().service(stackId, serviceId) or not_found("service", serviceId)

    @api.get(
        "/stacks/{stackId}/volumes/{volumeId}",
        response_model_exclude_none=True,
        response_model=VolumeResponse,
        responses=NOT_FOUND,
    )
    async def get_volume(stackId: str, volumeId: str) -> Any:
        return view().volume(stackId, volumeId) or not_found("volume", volumeId)

    @api.get(
        "/registries/{registryId}",
        response_model_exclude_none=True,
        response_model=Registry,
        responses=NOT_FOUND,
    )
    async def get_registry(registryId: str) -> Any:
        return view().registries.get(registryId) or not_found("registry", registryId)

    @api.get(
        "/stacks/{stackId}/services/{serviceId}/logs",
        response_class=PlainTextResponse,
        responses=NOT_FOUND,
    )
    def get_logs(
        stackId: str,
        serviceId: str,
        tail: Annotated[int | None, Query(ge=0, le=MAX_TAIL)] = None,
    ) -> Any:
        current = view()
        service = current.service(stackId, serviceId)
        key = current.service_keys.get(service.id) if service else None
        lines = tail if tail is not None else MAX_TAIL
        text = readable_logs(wiring.tasks, key, lines) if key else None
        if text is None:
            return not_found("service", serviceId)
        return PlainTextResponse(text)
