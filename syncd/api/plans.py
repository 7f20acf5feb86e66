"""`POST /v2/syncd/plans`: the plan of a revision or ref against what runs (the read token).

The body names exactly one of `revision` (a commit sha) and `ref` (`refs/pull/12/head`, or a
branch name), and optionally the `format` of `output` (markdown by default); the answer always
carries the JSON plan (`plan`) and its markdown (`markdown`) as well. Errors: 400 a malformed
request (`ValidationErrors`, naming `.ref` or `.revision`); else `{type, message}`: 404 no such
revision or ref, 422 invalid manifests (with `problems`, each located) or a refused plan, 429
too many plans at once (Retry-After), 502 the remote failed, 503 the engine is unavailable.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from syncd import taint
from syncd.api.models import Error
from syncd.api.paging import invalid
from syncd.api.wiring import Wiring
from syncd.daemon.liveplans import PlanRequest
from syncd.errors import (
    EngineUnavailable,
    InvalidRevision,
    PlanRefused,
    PlanRequestInvalid,
    PlansBusy,
    RevisionNotFound,
    SourceError,
    SyncdError,
)
from syncd.render import PlanFormat
from syncd.source.planrefs import MAX_REF_LENGTH

MAX_PROBLEMS = 500  # listed in a 422 (in file order); the message gives the count


class PlanQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    revision: str | None = Field(default=None, max_length=64, description="a commit sha")
    ref: str | None = Field(
        default=None, max_length=MAX_REF_LENGTH, description="refs/… or a branch name"
    )
    format: PlanFormat = Field(default=PlanFormat.MARKDOWN, description="the format of `output`")

    @model_validator(mode="after")
    def _one_of(self) -> PlanQuery:
        if (self.revision is None) == (self.ref is None):
            raise ValueError("give exactly one of `revision` and `ref`")
        return self


class PlanProblem(BaseModel):
    file: str
    line: int
    column: int
    pointer: str
    severity: str
    message: str
    text: str  # file:line:col: pointer: message


class InvalidManifests(Error):
    revision: str | None = None
    problems: list[PlanProblem] = Field(default_factory=list)


class PlanAnswer(BaseModel):
    revision: str
    ref: str | None = None
    base: str | None = None
    changed: bool
    counts: dict[str, int]
    cached: bool
    format: PlanFormat
    output: str
    markdown: str
    plan: dict[str, Any]
    warnings: list[str]


def _error(status: int, kind: str, message: str, **extra: Any) -> JSONResponse:
    body = {"type": kind, "message": taint.scrub_known(message), **extra}
    return JSONResponse(body, status_code=status)


def _invalid(err: InvalidRevision) -> JSONResponse:
    problems = [
        {
            "file": p.path,
            "line": p.position.line,
            "column": p.position.column,
            "pointer": p.pointer,
            "severity": p.severity.value,
            "message": taint.scrub_known(p.message),
            "text": taint.scrub_known(str(p)),
        }
        for p in err.problems[:MAX_PROBLEMS]
    ]
    count = len(err.problems)
    shown = f"; the first {MAX_PROBLEMS} are listed" if count > MAX_PROBLEMS else ""
    message = f"revision {err.revision[:12]} has invalid manifests ({count} problems{shown})"
    return _error(422, "InvalidManifests", message, revision=err.revision, problems=problems)


def router(wiring: Wiring) -> APIRouter:
    api = APIRouter(prefix="/v2/syncd", tags=["syncd"])

    @api.post(
        "/plans",
        response_model=PlanAnswer,
        responses={
            404: {"model": Error, "description": "no such revision or ref"},
            422: {"model": InvalidManifests, "description": "invalid manifests; a refused plan"},
            429: {"model": Error, "description": "too many plans at once (Retry-After)"},
            502: {"model": Error, "description": "the remote failed"},
        },
    )
    def live_plan(body: PlanQuery) -> Any:
        planner = wiring.plans
        if planner is None:
            return _error(503, "ServiceUnavailable", "this daemon does not plan revisions")
        request = PlanRequest(revision=body.revision, ref=body.ref)
        try:
            answer = planner.plan(request)
        except PlanRequestInvalid as err:
            field = ".ref" if body.ref is not None else ".revision"
            return invalid(field, "format", taint.scrub_known(str(err)))
        except RevisionNotFound as err:
            return _error(404, "NotFound", str(err))
        except InvalidRevision as err:
            return _invalid(err)
        except PlanRefused as err:
            return _error(422, "PlanRefused", str(err))
        except PlansBusy as err:
            response = _error(429, "TooManyRequests", str(err))
            response.headers["Retry-After"] = str(err.retry_after)
            return response
        except SourceError as err:
            return _error(502, "SourceError", str(err))
        except EngineUnavailable as err:
            return _error(503, "EngineUnavailable", str(err))
        except SyncdError as err:
            return _error(500, "Error", str(err))
        return answer.as_json(body.ref, body.format)

    return api
