"""`GET /v2/syncd/services`: every service as the status page shows it, for scripts and
`syncd status --api`: state, the healthcheck's verdict (which mittwald's `ServiceResponse` has
no field for), image, ports, replicas, the revision it runs, its container's creation time, and
why it is not plain green (`notes`, `level`: ok, warn, bad). Problems first. Built from the same
redacted view and bookkeeping as the page (`pagedata`)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter

from syncd.api.pagedata import Level, PageData, ServiceRow, gather
from syncd.api.wiring import Wiring
from syncd.timestamps import iso_or_none

HISTORY_READ = 50  # syncs read for recent drift (`pagedata.drifted`)


def current(wiring: Wiring, now: float) -> PageData:
    """What the status page and this route show, gathered now from the daemon's facts."""
    state = wiring.state
    return gather(
        state.status,
        snapshot=state.snapshot(),
        view=wiring.view(),
        stacks=state.stacks(),
        syncs=state.syncs(HISTORY_READ),
        now=now,
    )


def as_json(row: ServiceRow) -> dict[str, Any]:
    project, stack, name = row.key.split("/", 2)
    return {
        "service": row.key,
        "project": project,
        "stack": stack,
        "name": name,
        "state": row.state,
        "health": None if row.health == "-" else row.health,
        "image": row.image,
        "ports": list(row.ports),
        "replicas": row.replicas,
        "revision": row.revision,
        "createdAt": iso_or_none(row.since),
        "notes": list(row.notes),
        "level": row.level.value,
    }


def router(wiring: Wiring) -> APIRouter:
    routes = APIRouter(tags=["syncd"])

    @routes.get("/v2/syncd/services")
    def services() -> list[dict[str, Any]]:
        data = current(wiring, time.time())
        rows = [r for p in data.projects for s in p.stacks for r in s.services]
        rank = {Level.BAD: 0, Level.WARN: 1, Level.OK: 2}
        return [as_json(r) for r in sorted(rows, key=lambda r: (rank[r.level], r.key))]

    return routes
