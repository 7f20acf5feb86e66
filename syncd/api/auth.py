"""Who may call what: the read token (every route but `/healthz` and the webhook, when one is
configured) and the admin token (operator tasks and anything that reads a secret or sends
credentials; those are off unless one is configured). Tokens compare in constant time."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import HTTPException, Request


def route_path(scope: Mapping[str, Any]) -> str:
    """The path the router dispatches on: the request line's path less the ASGI root path (as
    Starlette routes). Every decision on who may call a route reads this one, never
    `request.url.path`: that is rebuilt from the `Host` header, which the client writes (a Host
    of `x/static/?` once made `/metrics` look like a static file: CVE-2026-48710)."""
    path = str(scope["path"])
    root = str(scope.get("root_path") or "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        return path[len(root) :]
    return path


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


def admin_check(expected: str | None) -> Callable[[Request], None]:
    """A dependency that lets only the admin token through (403 when none is configured)."""

    def admin(request: Request) -> None:
        if not expected:
            raise HTTPException(403, "operational tasks are off: configure an admin token")
        if not token_matches(request, expected):
            raise HTTPException(401, "this task needs the admin token (Authorization: Bearer)")

    return admin
