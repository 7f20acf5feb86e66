"""`POST /v2/syncd/pause` and `POST /v2/syncd/resume`: hold or release what the daemon applies,
for the whole instance or named stacks. Admin token only (off unless one is configured), a
small bounded body; the answer is the pause state as the status shows it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from syncd.api.auth import admin_check
from syncd.api.wiring import PauseControl, Wiring
from syncd.apply.pauses import MAX_BY, MAX_REASON, MAX_STACKS, PauseState, stack_key
from syncd.errors import SyncdError
from syncd.ids import StackKey

StackName = Annotated[str, StringConstraints(max_length=130)]


class PauseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stacks: list[StackName] = Field(default_factory=list, max_length=MAX_STACKS)
    reason: str = Field(default="", max_length=MAX_REASON)
    by: str = Field(default="", max_length=MAX_BY - 10, description="who asks (shown as `api:`)")


class ResumeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stacks: list[StackName] = Field(default_factory=list, max_length=MAX_STACKS)
    all: bool = Field(default=False, description="lift every pause, the instance's and stacks'")


def _bad(message: str) -> JSONResponse:
    return JSONResponse({"type": "BadRequest", "message": message}, 400)


def routes(api: APIRouter, wiring: Wiring) -> None:
    guarded = [Depends(admin_check(wiring.config.admin_token))]

    def keys(names: list[str]) -> list[StackKey]:
        return [stack_key(name) for name in names]

    def answer(state: PauseState) -> dict[str, Any]:
        return state.as_json()

    def control() -> PauseControl:
        pausing = getattr(wiring, "pausing", None)
        if pausing is None:
            raise SyncdError("this daemon cannot be paused")
        control: PauseControl = pausing
        return control

    @api.post("/syncd/pause", dependencies=guarded, tags=["syncd"])
    def pause(body: PauseRequest | None = None) -> Any:
        body = body or PauseRequest()
        who = "api" + (f":{body.by}" if body.by else "")
        try:
            return answer(control().pause(keys(body.stacks), who, body.reason))
        except SyncdError as err:
            return _bad(str(err))

    @api.post("/syncd/resume", dependencies=guarded, tags=["syncd"])
    def resume(body: ResumeRequest | None = None) -> Any:
        body = body or ResumeRequest()
        try:
            return answer(control().resume(keys(body.stacks), everything=body.all))
        except SyncdError as err:
            return _bad(str(err))
