"""Request-body limits that hold while the body streams in, chunked or not.

A plain ASGI middleware: a declared `Content-Length` over the route's limit is answered 413 at
once, without reading; any other body is read here, counting bytes as they arrive, and answered
413 as soon as the count passes the limit — before the application sees (or buffers) anything.
Bodies within the limit are handed to the application whole. The 413 closes the connection, so
the rest of an oversized body is never read. A client that goes away mid-body is logged once.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_HOOK_BYTES = 5 * 1024 * 1024
MAX_REQUEST_BYTES = 64 * 1024  # any other request: the API takes small JSON bodies at most
ROUTE_LIMITS = {"/hooks/git": MAX_HOOK_BYTES}


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
    def __init__(self, app: ASGIApp, log: Any) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["path"])
        length, has_body = _declared(scope["headers"])
        if not has_body:  # GET and friends: nothing to count, no cost
            await self.app(scope, receive, send)
            return
        if length is not None and length > limit:
            await self._too_large(scope, send, limit, length)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.log.warning("request_abandoned", path=scope["path"], received=size)
                return
            chunk = bytes(message.get("body", b""))
            size += len(chunk)
            if size > limit:
                await self._too_large(scope, send, limit, size)
                return
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        body: Message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # after the body: waits for the client to go away
            replayed = True
            return body

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, send: Send, limit: int, seen: int) -> None:
        self.log.warning("request_too_large", path=scope["path"], limit=limit, received=seen)
        message = f"request bodies on this route are limited to {limit} bytes"
        payload = json.dumps({"type": "PayloadTooLarge", "message": message}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
            (b"connection", b"close"),  # the rest of the body is never read
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": payload, "more_body": False})
