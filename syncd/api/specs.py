"""syncd's own view of one service: its full canonical spec, declared and deployed, with every
option field (the mittwald routes show only the fields of mittwald's `ServiceResponse`).
Values from the environment are `<redacted>`, as everywhere."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from syncd.api.view import _shown
from syncd.api.wiring import Wiring
from syncd.daemon.snapshot import DaemonSnapshot
from syncd.ids import ServiceKey
from syncd.taint import REDACTED


def service_spec(snapshot: DaemonSnapshot, key: ServiceKey) -> dict[str, Any] | None:
    """`{id, stackId, service, declared, deployed}`; None when syncd knows no such service."""
    stack = snapshot.desired.stacks.get(key.stack_key) if snapshot.desired else None
    desired = stack.services.get(key.name) if stack else None
    live_stack = snapshot.observation.live.stacks.get(key.stack_key)
    live = live_stack.services.get(key.name) if live_stack else None
    if desired is None and live is None:
        return None
    secrets = (desired.secrets if desired else frozenset()) | (
        live.secrets if live else frozenset()
    )
    pending = desired.spec if desired else (live.spec if live else {})
    running = snapshot.deployed.get(key) or (live.spec if live else None)
    hidden = any(p == "/ports" or p.startswith("/ports/") for p in secrets)
    return {
        "id": key.id,
        "stackId": key.stack_key.id,
        "service": str(key),
        "declared": _shown(desired.spec, secrets) if desired else None,
        "deployed": _shown(running, secrets, pending) if running else None,
        # the host ports Docker bound, per replica (`"5432"` publishes on a port Docker picks);
        # ports written from the environment stay hidden, as in `declared`
        "published": {
            str(r.index): [REDACTED] * len(r.published) if hidden else list(r.published)
            for r in (live.containers() if live else ())
        },
    }


def router(wiring: Wiring) -> APIRouter:
    routes = APIRouter()

    @routes.get("/v2/syncd/stacks/{stackId}/services/{serviceId}")
    def service(stackId: str, serviceId: str) -> Any:
        """The service's full canonical spec, declared and deployed (every option field)."""
        view = wiring.view()
        found = view.service(stackId, serviceId)
        snapshot = wiring.state.snapshot()
        key = view.service_keys.get(found.id) if found is not None else None
        spec = service_spec(snapshot, key) if snapshot is not None and key is not None else None
        if spec is None:
            message = f"no service {serviceId[:80]!r} in stack {stackId[:80]!r}"
            return JSONResponse({"type": "NotFound", "message": message}, status_code=404)
        return spec

    return routes
