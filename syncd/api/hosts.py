"""A request's `Host` header must be a host (a name, an IPv4 address or a bracketed IPv6 one) and
an optional port, nothing else: Starlette rebuilds `request.url` from it, so a Host holding a
`/`, `?`, `#`, `@` or `\\` would move the URL's path, query or host away from what was requested
(CVE-2026-48710; the page's same-origin check compares `Origin` with it too). Such a request is
answered 400 before any route or middleware sees it. A request without a Host (HTTP/1.0) passes."""

from __future__ import annotations

import re

from syncd.api.limits import ASGIApp, Receive, Scope, Send, refuse

_HOST = re.compile(rb"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]*)(?::[0-9]{0,5})?")


def valid_host(value: bytes) -> bool:
    return _HOST.fullmatch(value) is not None


class HostCheck:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hosts = [v for k, v in scope.get("headers", ()) if k == b"host"]
        if scope["type"] == "http" and (len(hosts) > 1 or not all(map(valid_host, hosts))):
            await refuse(send, 400, "BadRequest", "the Host header is not a host[:port]")
            return
        await self.app(scope, receive, send)
