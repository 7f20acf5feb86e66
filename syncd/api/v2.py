"""The mittwald-shaped `/v2` routes: lists with filters and pagination, single objects, logs,
and 405 for writes (they belong in git). Answers come from the daemon's snapshot (`View`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel

from syncd.api.models import (
    Error,
    Project,
    Registry,
    ServiceResponse,
    StackResponse,
    VolumeResponse,
)
from syncd.api.view import View
from syncd.live import ServiceStatus

if TYPE_CHECKING:
    from syncd.daemon import Daemon

T = TypeVar("T", bound=BaseModel)
MAX_TAIL = 10_000
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Error}}

Limit = Annotated[int, Query(ge=0, le=100_000)]
Skip = Annotated[int, Query(ge=0)]


def not_found(what: str, ref: str) -> JSONResponse:
    return JSONResponse({"type": "NotFound", "message": f"{what} {ref!r} was not found"}, 404)


def page(
    items: Sequence[T], response: Response, limit: int, skip: int, page_: int | None
) -> list[T]:
    """mittwald's pagination: `page` (if given) selects `skip = page * limit`; headers tell."""
    if page_ is not None:
        skip = page_ * limit
    response.headers["X-Pagination-Limit"] = str(limit)
    response.headers["X-Pagination-Skip"] = str(skip)
    response.headers["X-Pagination-Page"] = str(skip // limit if limit else 0)
    response.headers["X-Pagination-TotalCount"] = str(len(items))
    return list(items[skip : skip + limit])


def _search(term: str | None, *texts: str) -> bool:
    return term is None or any(term.lower() in t.lower() for t in texts)


def router(daemon: Daemon) -> APIRouter:
    api = APIRouter(prefix="/v2", tags=["container"])

    def view() -> View:
        return daemon.view

    @api.get("/projects", response_model_exclude_none=True, response_model=list[Project])
    def list_projects(
        response: Response,
        limit: Limit = 1000,
        skip: Skip = 0,
        page_: Annotated[int | None, Query(alias="page", ge=0)] = None,
    ) -> list[Project]:
        items = sorted(view().projects.values(), key=lambda p: p.description)
        return page(items, response, limit, skip, page_)

    @api.get(
        "/projects/{projectId}",
        response_model_exclude_none=True,
        response_model=Project,
        responses=NOT_FOUND,
    )
    def get_project(projectId: str) -> Any:
        found = view().projects.get(projectId) or next(
            (p for p in view().projects.values() if projectId in (p.shortId, p.description)), None
        )
        return found or not_found("project", projectId)

    @api.get(
        "/projects/{projectId}/stacks",
        response_model_exclude_none=True,
        response_model=list[StackResponse],
    )
    def list_stacks(
        *,
        projectId: str,
        response: Response,
        searchTerm: str | None = None,
        limit: Limit = 1000,
        skip: Skip = 0,
        page_: Annotated[int | None, Query(alias="page", ge=0)] = None,
    ) -> list[StackResponse]:
        stacks = [
            s
            for s in view().stacks.values()
            if s.projectId == projectId and _search(searchTerm, s.description, s.prefix)
        ]
        return page(sorted(stacks, key=lambda s: s.prefix), response, limit, skip, page_)

    @api.get(
        "/projects/{projectId}/services",
        response_model_exclude_none=True,
        response_model=list[ServiceResponse],
    )
    def list_services(
        *,
        projectId: str,
        response: Response,
        stackId: str | None = None,
        status: ServiceStatus | None = None,
        requiresRecreate: bool | None = None,
        searchTerm: str | None = None,
        sortOrder: Literal["descriptionAsc", "descriptionDesc"] | None = None,
        limit: Limit = 1000,
        skip: Skip = 0,
        page_: Annotated[int | None, Query(alias="page", ge=0)] = None,
    ) -> list[ServiceResponse]:
        services = [
            s
            for s in view().services.values()
            if s.projectId == projectId
            and (stackId is None or s.stackId == stackId)
            and (status is None or s.status is status)
            and (requiresRecreate is None or s.requiresRecreate is requiresRecreate)
            and _search(searchTerm, s.serviceName, s.description)
        ]
        if sortOrder is None:
            services.sort(key=lambda s: (s.stackId, s.serviceName))
        else:
            services.sort(
                key=lambda s: (s.description, s.serviceName), reverse=sortOrder == "descriptionDesc"
            )
        return page(services, response, limit, skip, page_)

    @api.get(
        "/projects/{projectId}/volumes",
        response_model_exclude_none=True,
        response_model=list[VolumeResponse],
    )
    def list_volumes(
        *,
        projectId: str,
        response: Response,
        stackId: str | None = None,
        searchTerm: str | None = None,
        sortOrder: Literal["nameAsc", "nameDesc", "storageAsc", "storageDesc"] | None = None,
        limit: Limit = 1000,
        skip: Skip = 0,
        page_: Annotated[int | None, Query(alias="page", ge=0)] = None,
    ) -> list[VolumeResponse]:
        project_stacks = {s.id for s in view().stacks.values() if s.projectId == projectId}
        volumes = [
            v
            for v in view().volumes.values()
            if v.stackId in project_stacks
            and (stackId is None or v.stackId == stackId)
            and _search(searchTerm, v.name)
        ]
        order = sortOrder or "nameAsc"
        if order.startswith("storage"):
            volumes.sort(
                key=lambda v: (v.storageUsageInBytes, v.name), reverse=order == "storageDesc"
            )
        else:
            volumes.sort(key=lambda v: (v.name, v.stackId), reverse=order == "nameDesc")
        return page(volumes, response, limit, skip, page_)

    @api.get(
        "/projects/{projectId}/registries",
        response_model_exclude_none=True,
        response_model=list[Registry],
    )
    def list_registries(
        *,
        projectId: str,
        response: Response,
        hasCredentials: bool | None = None,
        limit: Limit = 1000,
        skip: Skip = 0,
        page_: Annotated[int | None, Query(alias="page", ge=0)] = None,
    ) -> list[Registry]:
        registries = [
            r
            for r in view().registries.values()
            if r.projectId == projectId
            and (hasCredentials is None or (r.credentials is not None) is hasCredentials)
        ]
        return page(sorted(registries, key=lambda r: r.uri), response, limit, skip, page_)

    @api.get(
        "/stacks/{stackId}",
        response_model_exclude_none=True,
        response_model=StackResponse,
        responses=NOT_FOUND,
    )
    def get_stack(stackId: str) -> Any:
        return view().stacks.get(stackId) or not_found("stack", stackId)

    @api.get(
        "/stacks/{stackId}/services/{serviceId}",
        response_model_exclude_none=True,
        response_model=ServiceResponse,
        responses=NOT_FOUND,
    )
    def get_service(stackId: str, serviceId: str) -> Any:
        return view().service(stackId, serviceId) or not_found("service", serviceId)

    @api.get(
        "/stacks/{stackId}/volumes/{volumeId}",
        response_model_exclude_none=True,
        response_model=VolumeResponse,
        responses=NOT_FOUND,
    )
    def get_volume(stackId: str, volumeId: str) -> Any:
        found = view().volumes.get(volumeId) or next(
            (v for v in view().volumes.values() if v.stackId == stackId and v.name == volumeId),
            None,
        )
        if found is None or found.stackId != stackId:
            return not_found("volume", volumeId)
        return found

    @api.get(
        "/registries/{registryId}",
        response_model_exclude_none=True,
        response_model=Registry,
        responses=NOT_FOUND,
    )
    def get_registry(registryId: str) -> Any:
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
        service = view().service(stackId, serviceId)
        key = view().service_keys.get(service.id) if service else None
        container = daemon.container_id(key) if key else None
        if container is None:
            return not_found("service", serviceId)
        return PlainTextResponse(
            daemon.engine.logs(container, tail if tail is not None else MAX_TAIL)
        )

    def in_git(what: str) -> JSONResponse:
        where = daemon.status.good_revision or daemon.status.seen_revision or "HEAD"
        message = (
            f"{what} are declared in git: change the manifest in {daemon.repo.display} "
            f"(branch {daemon.repo.branch}, now at {where[:12]}) and push; syncd applies it"
        )
        return JSONResponse({"type": "MethodNotAllowed", "message": message}, 405)

    for path, methods, what in (
        ("/stacks/{stackId}", ["PUT", "PATCH"], "stacks"),
        ("/projects/{projectId}/registries", ["POST"], "registries"),
        ("/registries/{registryId}", ["PATCH", "DELETE"], "registries"),
    ):

        def refuse(what: str = what) -> JSONResponse:
            return in_git(what)

        api.add_api_route(path, refuse, methods=methods, status_code=405, include_in_schema=False)

    return api
