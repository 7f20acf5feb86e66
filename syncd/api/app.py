"""The FastAPI application of `syncd run`."""

from __future__ import annotations

import threading
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException as StarletteHTTPException

from syncd import __version__, logs
from syncd.api import page, plans, servicerows, specs, v2
from syncd.api.auth import route_path, token_matches
from syncd.api.hosts import HostCheck
from syncd.api.limits import BodyLimit
from syncd.api.models import Error, ValidationErrorItem, ValidationErrors
from syncd.api.wiring import Wiring
from syncd.daemon.status import Trigger
from syncd.daemon.swarmstatus import swarm_status
from syncd.errors import WebhookMalformed, WebhookRejected
from syncd.source import webhooks as hooks


def error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"type": kind, "message": message}, status_code=status)


def _guarded(path: str) -> bool:
    """Whether the read token middleware checks a path: not `/healthz` or the webhook, nor the
    status page, which checks the same tokens itself (and a session cookie, `page`)."""
    return path not in ("/healthz", "/hooks/git") and not page.is_page(path)


def _guard_requests(app: FastAPI, log: Any) -> None:
    """The outermost layers: no body read beyond its limit (`BodyLimit`), and, outside it, no
    request whose `Host` would move the URL that Starlette rebuilds from it (`HostCheck`)."""
    app.add_middleware(BodyLimit, log=log)
    app.add_middleware(HostCheck)  # added last: outermost, before anything reads the URL


def create_app(wiring: Wiring) -> FastAPI:
    app = FastAPI(title="syncd", docs_url=None, redoc_url=None, openapi_url="/v2/openapi.json")
    log = logs.get()
    config, state = wiring.config, wiring.state

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        status = state.status
        healthy = status.engine_available
        body = {
            "status": "ok" if healthy else "degraded",
            "engineAvailable": status.engine_available,
            "appliedRevision": status.applied_revision,
        }
        return JSONResponse(body, status_code=200 if healthy else 503)

    @app.post("/hooks/git", status_code=202)
    async def git_hook(request: Request) -> JSONResponse:
        body = await request.body()  # at most 5 MiB: `BodyLimit` answered 413 beyond
        secret = config.webhook_secret
        try:
            provider = hooks.verify(
                dict(request.headers), body, secret.encode() if secret else None
            )
        except WebhookRejected as err:
            client = request.client.host if request.client else "?"
            log.warning("webhook_rejected", reason=str(err), client=client)
            wiring.metrics.webhook_rejected()
            return error(401, "Unauthorized", str(err))
        try:
            branch = hooks.pushed_branch(body)
        except WebhookMalformed as err:
            client = request.client.host if request.client else "?"
            log.warning("webhook_malformed", reason=str(err), client=client)
            return error(400, "BadRequest", str(err))
        log.info("webhook_accepted", provider=provider.value, branch=branch)
        if branch is not None and branch != state.status.branch:
            return JSONResponse(
                {"accepted": True, "sync": False, "reason": f"branch {branch}"}, 202
            )
        wiring.triggers.request(Trigger.WEBHOOK)
        return JSONResponse({"accepted": True, "sync": True}, status_code=202)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(wiring.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v2/syncd/daemon/status")
    def sync_status() -> dict[str, Any]:
        current = state.status
        status = current.as_dict()
        status["stacks"] = {key: row.as_json() for key, row in state.stacks().items()}
        status["pendingPlan"] = current.plan_json
        status["pendingPlanMarkdown"] = current.plan_markdown
        status["pendingCounts"] = (current.plan_json or {}).get("counts")
        if (swarm := swarm_status(state.snapshot())) is not None:  # on a Swarm engine only
            status["swarm"] = swarm.as_json()
        return status

    @app.get("/v2/syncd/syncs")
    def sync_history(limit: int = 50) -> Any:
        return [row.as_json() for row in state.syncs(max(1, min(limit, 1000)))]

    app.state.closing = threading.Event()  # set by `Server.stop`: the page's live streams end
    for routes in (v2.router(wiring), specs.router(wiring), plans.router(wiring),
                   servicerows.router(wiring)):  # fmt: skip
        app.include_router(routes)
    app.include_router(page.router(wiring, app.state.closing))  # the status page at `/`

    if config.read_token:  # only then: a middleware costs every request

        @app.middleware("http")
        async def read_token(request: Request, call_next: Any) -> Any:
            if _guarded(route_path(request.scope)):
                allowed = [t for t in (config.read_token, config.admin_token) if t]
                if not any(token_matches(request, t) for t in allowed):
                    return error(
                        401, "Unauthorized", "this API needs a token (Authorization: Bearer)"
                    )
            return await call_next(request)

    _guard_requests(app, log)  # added last: outermost

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        items = [
            {
                "message": str(e.get("msg", "invalid")),
                "path": "." + ".".join(str(p) for p in e.get("loc", ())[1:]),
                "type": str(e.get("type", "invalid")),
            }
            for e in exc.errors()
        ]
        body = {
            "type": "ValidationError",
            "message": "Validation failed",
            "validationErrors": items,
        }
        return JSONResponse(body, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kinds = {401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed"}
        return JSONResponse(
            {"type": kinds.get(exc.status_code, "Error"), "message": str(exc.detail)},
            status_code=exc.status_code,
        )

    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


ERROR_CODES = {"401": "Unauthorized", "403": "Forbidden", "404": "Not found", "405": "Not allowed",
               "412": "Precondition failed", "503": "Docker unavailable"}  # fmt: skip


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with syncd's error answers: 400 `ValidationErrors` (not 422) and
    `{type, message}` for every other error status."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title="syncd", version=__version__, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (Error, ValidationErrors, ValidationErrorItem):
        components[model.__name__] = model.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)

    def ref(name: str, description: str) -> dict[str, Any]:
        content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}
        return {"description": description, "content": content}

    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if "HTTPValidationError" in str(responses.get("422")):  # FastAPI's; a route's own stays
                responses.pop("422")
            responses["400"] = ref("ValidationErrors", "Validation failed")
            for code, description in ERROR_CODES.items():  # always JSON, whatever the 200 is
                responses[code] = ref("Error", description)
    app.openapi_schema = schema
    return schema
