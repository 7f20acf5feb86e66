"""The `/v2` writes: operator tasks and everything that reads a secret or sends credentials
(admin token), the read-only checks, and 405 for writes that belong in git."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter, ValidationError

from syncd import taint
from syncd.api.auth import admin_check
from syncd.api.imageconfig import image_config
from syncd.api.models import (
    ContainerImageConfig,
    CredentialsValidity,
    RegistryUri,
    UriValidity,
)
from syncd.api.paging import NOT_FOUND, invalid, not_found
from syncd.api.wiring import Wiring
from syncd.daemon.tasks import Task
from syncd.errors import CredentialsHostMismatch, OperationRefused, SyncdError, UnknownRegistry
from syncd.manifests.images import ImageRef, RegistryHost

if TYPE_CHECKING:
    TaskName = str
else:  # the path parameter's inline enum (as the reference has it), from `Task`: listed once
    TaskName = Literal[tuple(t.value for t in Task)]


def routes(api: APIRouter, wiring: Wiring) -> None:
    """Operational tasks and everything that reads a secret or sends credentials (admin token;
    off unless one is configured), and the read-only checks."""
    operator = wiring.tasks
    admin = admin_check(wiring.config.admin_token)

    guarded = [Depends(admin)]

    def run(task: Callable[[], None]) -> Response:
        try:
            if wiring.pausing is not None:  # detect mode: never an engine write
                wiring.pausing.refuse_writes("operational tasks are off")
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
        action: TaskName,
    ) -> Response:
        current = wiring.view()
        service = current.service(stackId, serviceId)
        key = current.service_keys.get(service.id) if service else None
        if key is None:
            return not_found("service", serviceId)
        return run(lambda: operator.service(Task(action), key))

    @api.delete(
        "/stacks/{stackId}/volumes/{volumeId}",
        status_code=204,
        responses=NOT_FOUND,
        dependencies=guarded,
    )
    def delete_volume(stackId: str, volumeId: str) -> Response:
        current = wiring.view()
        found = current.volume(stackId, volumeId)
        if found is None:
            return not_found("volume", volumeId)
        key = current.volume_keys[found.id]
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


def refusals(api: APIRouter, wiring: Wiring) -> None:
    """Writes belong in git: 405 naming the manifest file and the revision to change."""

    def in_git(what: str, where: str | None) -> JSONResponse:
        status = wiring.state.status
        revision = status.good_revision or status.seen_revision or "HEAD"
        place = f"in {where}" if where else "in a manifest"
        message = (
            f"{what} are declared in git: change {place} in {status.repo} "
            f"(branch {status.branch}, revision {revision[:12]}) and push; syncd applies it"
        )
        return JSONResponse({"type": "MethodNotAllowed", "message": message}, 405)

    def registry_source(registryId: str) -> str | None:
        registry = wiring.tasks.registry_by_id(registryId)
        return registry.source if registry else None

    @api.api_route("/stacks/{stackId}", methods=["PUT", "PATCH"], include_in_schema=False)
    def refuse_stack(stackId: str) -> JSONResponse:
        return in_git("stacks", wiring.tasks.stack_source(stackId))

    @api.post("/projects/{projectId}/registries", include_in_schema=False)
    def refuse_new_registry(projectId: str) -> JSONResponse:
        return in_git("registries", "a `kind: Registry` document")

    @api.api_route("/registries/{registryId}", methods=["PATCH", "DELETE"], include_in_schema=False)
    def refuse_registry(registryId: str) -> JSONResponse:
        return in_git("registries", registry_source(registryId))
