"""The mittwald-shaped `/v2` routes: lists with filters and pagination, single objects, logs,
and 405 for writes (they belong in git). Answers come from the daemon's snapshot (`View`)."""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, TypeAdapter, ValidationError

from syncd import taint
from syncd.api.imageconfig import image_config
from syncd.api.models import (
    ContainerImageConfig,
    CredentialsValidity,
    Error,
    Project,
    ProjectListItem,
    Registry,
    RegistryUri,
    ServiceResponse,
    StackResponse,
    UriValidity,
    VolumeResponse,
)
from syncd.api.view import View
from syncd.core.live import ServiceStatus
from syncd.daemon.tasks import OperationRefused, Operator, UnknownRegistry
from syncd.errors import CredentialsHostMismatch, SyncdError
from syncd.manifests.fields import ImageRef, RegistryHost

if TYPE_CHECKING:
    from syncd.daemon.loop import Daemon

T = TypeVar("T", bound=BaseModel)
MAX_TAIL = 10_000
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Error}}

Limit = Annotated[int, Query(ge=0, le=100_000)]
Skip = Annotated[int, Query(ge=0)]
Page = Annotated[int | None, Query(alias="page", ge=0)]  # named `page_`: `page()` pages


def not_found(what: str, ref: str) -> JSONResponse:
    return JSONResponse({"type": "NotFound", "message": f"{what} {ref!r} was not found"}, 404)


def page(view: View, items: Sequence[T], limit: int, skip: int, page_: int | None) -> Response:
    """mittwald's pagination: `page` (if given) selects `skip = page * limit`; headers tell.
    The body is joined from JSON rendered once per snapshot, so a list costs no serialization."""
    if page_ is not None:
        skip = page_ * limit
    chosen = items[skip : skip + limit]
    headers = {
        "X-Pagination-Limit": str(limit),
        "X-Pagination-Skip": str(skip),
        "X-Pagination-Page": str(skip // limit if limit else 0),
        "X-Pagination-TotalCount": str(len(items)),
    }
    body = b"[" + b",".join(view.json_of(item) for item in chosen) + b"]"
    return Response(body, media_type="application/json", headers=headers)


def sort_projects(
    items: list[ProjectListItem], by: Literal["createdAt", "description"], descending: bool
) -> list[ProjectListItem]:
    """mittwald's `sort` (createdAt by default) and `order`; ties by name."""
    if by == "createdAt":
        return sorted(
            items,
            key=lambda p: (dt.datetime.fromisoformat(p.createdAt), p.description),
            reverse=descending,
        )
    return sorted(items, key=lambda p: p.description, reverse=descending)


def _search(term: str | None, *texts: str) -> bool:
    return term is None or any(term.lower() in t.lower() for t in texts)


def router(daemon: Daemon) -> APIRouter:
    api = APIRouter(prefix="/v2", tags=["container"])

    def view() -> View:
        return daemon.view

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
            and _search(searchTerm, p.id, p.shortId, p.description)
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
            if s.projectId == projectId and _search(searchTerm, s.description, s.prefix)
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
            and _search(searchTerm, s.serviceName, s.description)
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
            and _search(searchTerm, v.name)
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
        service = view().service(stackId, serviceId)
        key = view().service_keys.get(service.id) if service else None
        container = daemon.container_id(key) if key else None
        if container is None:
            return not_found("service", serviceId)
        text = daemon.engine.logs(container, tail if tail is not None else MAX_TAIL)
        # A container may print its own environment (a config dump, a crash): the read token
        # never reads a secret value, whoever prints it.
        # Line by line: a line that would show a short value is withheld, not the whole log.
        lines: list[str] = taint.scrub_known(text.split("\n"))
        return PlainTextResponse("\n".join(lines))

    actions(api, daemon)

    refusals(api, daemon)
    return api


def refusals(api: APIRouter, daemon: Daemon) -> None:
    """Writes belong in git: 405 naming the manifest file and the revision to change."""

    def in_git(what: str, where: str | None) -> JSONResponse:
        revision = daemon.status.good_revision or daemon.status.seen_revision or "HEAD"
        place = f"in {where}" if where else "in a manifest"
        message = (
            f"{what} are declared in git: change {place} in {daemon.repo.display} "
            f"(branch {daemon.repo.branch}, revision {revision[:12]}) and push; syncd applies it"
        )
        return JSONResponse({"type": "MethodNotAllowed", "message": message}, 405)

    def stack_source(stackId: str) -> str | None:
        desired = daemon.desired()
        found = [s for s in desired.stacks.values() if s.key.id == stackId] if desired else []
        return found[0].source if found else None

    def registry_source(registryId: str) -> str | None:
        registry = Operator(daemon).registry_by_id(registryId)
        return registry.source if registry else None

    @api.api_route("/stacks/{stackId}", methods=["PUT", "PATCH"], include_in_schema=False)
    def refuse_stack(stackId: str) -> JSONResponse:
        return in_git("stacks", stack_source(stackId))

    @api.post("/projects/{projectId}/registries", include_in_schema=False)
    def refuse_new_registry(projectId: str) -> JSONResponse:
        return in_git("registries", "a `kind: Registry` document")

    @api.api_route("/registries/{registryId}", methods=["PATCH", "DELETE"], include_in_schema=False)
    def refuse_registry(registryId: str) -> JSONResponse:
        return in_git("registries", registry_source(registryId))


def _tokens(request: Request) -> list[str]:
    """The tokens a request carries: `Authorization: Bearer` and `x-access-token`."""
    found = []
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        found.append(header[7:].strip())
    if "x-access-token" in request.headers:
        found.append(request.headers["x-access-token"].strip())
    return found


def token_matches(request: Request, expected: str) -> bool:
    """Constant-time; any carried token may match."""
    matches = [hmac.compare_digest(t.encode(), expected.encode()) for t in _tokens(request)]
    return any(matches)


def invalid(path: str, kind: str, message: str) -> JSONResponse:
    """400 in mittwald's `ValidationErrors` shape, for one parameter."""
    return JSONResponse(
        {"type": "ValidationError", "message": message, "validationErrors": [
            {"message": message, "path": path, "type": kind}
        ]},
        400,
    )  # fmt: skip


def actions(api: APIRouter, daemon: Daemon) -> None:
    """Operational tasks and everything that reads a secret or sends credentials (admin token;
    off unless one is configured), and the read-only checks."""
    operator = Operator(daemon)

    def admin(request: Request) -> None:
        expected = daemon.config.admin_token
        if not expected:
            raise HTTPException(403, "operational tasks are off: configure an admin token")
        if not token_matches(request, expected):
            raise HTTPException(401, "this task needs the admin token (Authorization: Bearer)")

    guarded = [Depends(admin)]

    def run(task: Callable[[], None]) -> Response:
        try:
            task()
        except OperationRefused as err:
            return JSONResponse({"type": "PreconditionFailed", "message": str(err)}, 412)
        except CredentialsHostMismatch as err:
            return JSONResponse({"type": "BadRequest", "message": str(err)}, 400)
        except SyncdError as err:
            message = taint.scrub_known(str(err))  # Docker's answers quote the image
            return JSONResponse({"type": "EngineError", "message": message}, 503)
        return Response(status_code=204)

    @api.post(
        "/stacks/{stackId}/services/{serviceId}/actions/{action}",
        status_code=204,
        responses=NOT_FOUND,
        dependencies=guarded,
    )
    def service_action(
        stackId: str,
        serviceId: str,
        action: Literal["pull", "recreate", "restart", "start", "stop"],
    ) -> Response:
        service = daemon.view.service(stackId, serviceId)
        key = daemon.view.service_keys.get(service.id) if service else None
        if key is None:
            return not_found("service", serviceId)
        return run(lambda: operator.service(action, key))

    @api.delete(
        "/stacks/{stackId}/volumes/{volumeId}",
        status_code=204,
        responses=NOT_FOUND,
        dependencies=guarded,
    )
    def delete_volume(stackId: str, volumeId: str) -> Response:
        found = daemon.view.volume(stackId, volumeId)
        if found is None:
            return not_found("volume", volumeId)
        key = daemon.view.volume_keys[found.id]
        return run(lambda: operator.delete_volume(key))

    @api.get(
        "/container-image-config",
        response_model_exclude_none=True,
        response_model=ContainerImageConfig,
        responses=NOT_FOUND,
    )
    def container_image_config(
        request: Request,
        imageReference: str,
        useCredentialsForProjectId: str | None = None,
        useCredentialsForRegistryId: str | None = None,
        generateAiData: bool | None = None,
    ) -> Any:
        del generateAiData  # syncd generates no AI data
        if useCredentialsForProjectId or useCredentialsForRegistryId:
            admin(request)  # a pull with a registry's credentials is an admin task
        try:
            TypeAdapter(ImageRef).validate_python(imageReference)
        except ValidationError as err:
            return invalid(".imageReference", "format", err.errors()[0]["msg"])
        try:
            inspect = operator.image_config(
                imageReference, useCredentialsForProjectId, useCredentialsForRegistryId
            )
        except CredentialsHostMismatch as err:
            return invalid(".useCredentialsForRegistryId", "registry_host", str(err))
        except UnknownRegistry as err:
            return JSONResponse({"type": "NotFound", "message": str(err)}, 404)
        except SyncdError as err:
            message = taint.scrub_known(f"image {imageReference!r}: {err}")
            return JSONResponse({"type": "NotFound", "message": message}, 404)
        return image_config(inspect)

    @api.post(
        "/actions/validate-container-registry-uri",
        response_model=UriValidity,
        response_model_exclude_none=True,
    )
    def validate_uri(body: RegistryUri) -> UriValidity:
        try:
            TypeAdapter(RegistryHost).validate_python(body.registryUri)
        except ValidationError as err:
            return UriValidity(valid=False, reason=err.errors()[0]["msg"])
        return UriValidity(valid=True)

    @api.post(
        "/registries/{registryId}/actions/validate-credentials",
        response_model=CredentialsValidity,
        responses=NOT_FOUND,
        dependencies=guarded,  # reads the password and sends it to the registry
    )
    def validate_credentials(registryId: str) -> Any:
        registry = operator.registry_by_id(registryId)
        if registry is None:
            return not_found("registry", registryId)
        try:
            return CredentialsValidity(valid=operator.validate_credentials(registry))
        except SyncdError as err:
            return JSONResponse({"type": "EngineError", "message": str(err)}, 503)
