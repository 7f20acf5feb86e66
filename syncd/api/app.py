"""The FastAPI application of `syncd run`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from syncd import hooks
from syncd.api import v2

if TYPE_CHECKING:
    from syncd.daemon import Daemon

MAX_HOOK_BYTES = 5 * 1024 * 1024


def error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"type": kind, "message": message}, status_code=status)


def create_app(daemon: Daemon) -> FastAPI:
    app = FastAPI(title="syncd", docs_url=None, redoc_url=None, openapi_url="/v2/openapi.json")
    log = daemon.log

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        status = daemon.status
        healthy = status.engine_available
        body = {
            "status": "ok" if healthy else "degraded",
            "engineAvailable": status.engine_available,
            "appliedRevision": status.applied_revision,
        }
        return JSONResponse(body, status_code=200 if healthy else 503)

    @app.post("/hooks/git", status_code=202)
    async def git_hook(request: Request) -> JSONResponse:
        body = await request.body()
        if len(body) > MAX_HOOK_BYTES:
            return error(413, "PayloadTooLarge", "webhook payloads are limited to 5 MiB")
        secret = daemon.config.webhook_secret
        try:
            provider = hooks.verify(
                dict(request.headers), body, secret.encode() if secret else None
            )
        except hooks.WebhookRejected as err:
            client = request.client.host if request.client else "?"
            log.warning("webhook_rejected", reason=str(err), client=client)
            return error(401, "Unauthorized", str(err))
        branch = hooks.pushed_branch(body)
        log.info("webhook_accepted", provider=provider.value, branch=branch)
        if branch is not None and branch != daemon.repo.branch:
            return JSONResponse(
                {"accepted": True, "sync": False, "reason": f"branch {branch}"}, 202
            )
        from syncd.daemon import Trigger

        daemon.request(Trigger.WEBHOOK)
        return JSONResponse({"accepted": True, "sync": True}, status_code=202)

    @app.get("/v2/syncd/status")
    def sync_status() -> dict[str, Any]:
        status = daemon.status.as_dict()
        status["stacks"] = daemon.store.stacks()
        status["pendingPlanMarkdown"] = daemon.status.plan_markdown
        return status

    @app.get("/v2/syncd/syncs")
    def sync_history(limit: int = 50) -> Any:
        return daemon.store.syncs(max(1, min(limit, 1000)))

    app.include_router(v2.router(daemon))

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
        kinds = {404: "NotFound", 405: "MethodNotAllowed"}
        return JSONResponse(
            {"type": kinds.get(exc.status_code, "Error"), "message": str(exc.detail)},
            status_code=exc.status_code,
        )

    return app
