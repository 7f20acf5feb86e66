"""The mittwald-shaped `/v2` routes: lists with filters and pagination, single objects, logs
(`reads`), operator tasks and checks, and 405 for writes that belong in git (`tasks`). Answers
come from the view of the daemon's snapshot (`View`)."""

from __future__ import annotations

from fastapi import APIRouter

from syncd.api import pause, reads, tasks
from syncd.api.auth import token_matches
from syncd.api.wiring import Wiring

__all__ = ["router", "token_matches"]


def router(wiring: Wiring) -> APIRouter:
    api = APIRouter(prefix="/v2", tags=["container"])
    reads.routes(api, wiring)
    tasks.routes(api, wiring)
    tasks.refusals(api, wiring)
    pause.routes(api, wiring)
    return api
