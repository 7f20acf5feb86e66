"""Request-body limits that hold while the body streams in, chunked or not.

A plain ASGI middleware: a declared `Content-Length` over the route's limit is answered 413 at
once, without reading; any other body is read here, counting bytes as they arrive, and answered
413 as soon as the count passes the limit — before the application sees (or buffers) anything.
Bodies within the limit are handed to the application whole. The 413 closes the connection, so
the rest of an oversized body is never read. A client that goes away mid-body is logged once.
The bodies held at one moment, over all requests, share one budget (`MAX_BUFFERED_BYTES`): many
concurrent webhook bodies (read before their signature can be checked) cannot add up without
bound; a request that would pass it is answered 503 and its connection closed.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from syncd.api.auth import route_path

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_HOOK_BYTES = 5 * 1024 * 1024
MAX_REQUEST_BYTES = 64 * 1024  # any other request: the API takes small JSON bodies at most
ROUTE_LIMITS = {"/hooks/git": MAX_HOOK_BYTES}
MAX_BUFFERED_BYTES = 4 * MAX_HOOK_BYTES  # every body held at one moment, all requests together


def limit_for(path: str) -> int:
    return ROUTE_LIMITS.get(path, MAX_REQUEST_BYTES)


def _declared(headers: list[tuple[bytes, bytes]]) -> tuple[int | None, bool]:
    """The declared Content-Length (None: none), and whether a body may follow at all."""
    length: int | None = None
    chunked = False
    for name, value in headers:
        if name == b"content-length" and value.strip().isdigit():
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = True
    return length, chunked or bool(length)


class BodyLimit:
    def __init__(self, app: ASGIApp, log: Any, budget: int = MAX_BUFFERED_BYTES) -> None:
        self.app = app
        self.log = log
        self.budget = budget
        self.buffered = 0  # bytes held by the requests being read or served (one event loop)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(route_path(scope))
        length, has_body = _declared(scope["headers"])
        if not has_body:  # GET and friends: nothing to count, no cost
            await self.app(scope, receive, send)
            return
        if length is not None and length > limit:
            await self._too_large(scope, send, limit, length)
            return
        held = [0]  # the bytes of this request's body in the shared budget
        try:
            body = await self._read(scope, receive, send, limit, held)
            if body is not None:
                await self.app(scope, self._replay(body, receive), send)
        finally:
            self.buffered -= held[0]

    async def _read(
        self, scope: Scope, receive: Receive, send: Send, limit: int, held: list[int]
    ) -> Message | None:
        """The whole body, counted against the route's limit and the shared budget as it
        arrives (`held[0]`: what this request holds of the budget); None once answered (413,
        503) or abandoned."""
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.log.warning("request_abandoned", path=scope["path"], received=held[0])
                return None
            chunk = bytes(message.get("body", b""))
            if held[0] + len(chunk) > limit:
                await self._too_large(scope, send, limit, held[0] + len(chunk))
                return None
            if self.buffered + len(chunk) > self.budget:
                await self._busy(scope, send, held[0] + len(chunk))
                return None
            self.buffered += len(chunk)
            held[0] += len(chunk)
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

    @staticmethod
    def _replay(body: Message, receive: Receive) -> Receive:
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # after the body: waits for the client to go away
            replayed = True
            return body

        return replay

    async def _too_large(self, scope: Scope, send: Send, limit: int, seen: int) -> None:
        self.log.warning("request_too_large", path=scope["path"], limit=limit, received=seen)
        message = f"request bodies on this route are limited to {limit} bytes"
        await refuse(send, 413, "PayloadTooLarge", message)

    async def _busy(self, scope: Scope, send: Send, seen: int) -> None:
        self.log.warning("request_bodies_over_budget", path=scope["path"], received=seen)
        message = (
            f"the request bodies being received add up to more than {self.budget} bytes; "
            "try again later"
        )
        await refuse(send, 503, "ServiceUnavailable", message)


async def refuse(send: Send, status: int, kind: str, message: str) -> None:
    """An error answer in syncd's shape, before any application code, closing the connection."""
    payload = json.dumps({"type": kind, "message": message}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"connection", b"close"),  # the rest of the body is never read
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload, "more_body": False})
