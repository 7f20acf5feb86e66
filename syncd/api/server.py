"""Serving the API: the listening socket is bound before anything starts (so a taken port is a
start-up error), then uvicorn serves it from a thread. The only module that opens sockets.

Slow clients are bounded here, below the app: a request (head and body) must arrive within
`REQUEST_TIMEOUT` of the connection opening (or of the previous answer on a kept-alive
connection), else the connection is closed, however slowly bytes keep coming; a client that
stops reading its answer for as long is closed too; and at most
`MAX_CONNECTIONS` connections are open at once. A new connection beyond that closes the oldest
one still waiting for its request (so a client that sends its request at once is served while
others hold slow connections); when every connection is busy with a whole request, the new one is
answered 503 at once, never queued.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

import h11
import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol

from syncd.errors import PortInUse

REQUEST_TIMEOUT = 5.0
MAX_CONNECTIONS = 100

_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 19\r\nconnection: close\r\n\r\nService Unavailable"
)
# the client is still sending its request: before its head is whole, or during its body
_WAITING = (h11.IDLE, h11.SEND_BODY)


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted sockets inherit it: no Nagle + delayed-ACK stalls (40 ms) between head and body
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise PortInUse(f"cannot listen on {host}:{port}: {err.strerror}") from err
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class _GuardedH11(H11Protocol):
    """uvicorn's h11 protocol with a deadline on every request's arrival and a connection cap
    (uvicorn has neither: a connection that never finishes its head is kept forever)."""

    request_timeout: float = REQUEST_TIMEOUT
    max_connections: int = MAX_CONNECTIONS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._stalled: asyncio.TimerHandle | None = None  # the answer waits for the client
        self._waiting_since = 0.0
        self._refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.max_connections and not self._evict_oldest_waiting():
            self._refused = True
            transport.write(_BUSY)
            transport.close()
            return
        super().connection_made(transport)
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._refused:
            return
        self._stop_clocks()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._stalled is None:
            self._stalled = self.loop.call_later(self.request_timeout, self._close)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._stalled is not None:
            self._stalled.cancel()
            self._stalled = None

    def _watch(self) -> None:
        """Start the clock when the client starts owing a request; stop it once it arrived."""
        waiting = self.conn.their_state in _WAITING and not self.transport.is_closing()
        if not waiting:
            self._stop_clock()
        elif self._deadline is None:  # a byte that arrives never moves the deadline
            self._waiting_since = self.loop.time()
            self._deadline = self.loop.call_later(self.request_timeout, self._close)

    def _stop_clock(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _stop_clocks(self) -> None:
        self._stop_clock()
        if self._stalled is not None:
            self._stalled.cancel()
            self._stalled = None

    def _close(self) -> None:
        self._stop_clocks()
        self.transport.abort()  # not close(): a client that does not read cannot hold it open

    def _evict_oldest_waiting(self) -> bool:
        waiting = [
            other
            for other in self.connections
            if isinstance(other, _GuardedH11) and other._deadline is not None
        ]
        if not waiting:
            return False
        min(waiting, key=lambda other: other._waiting_since)._close()
        return True


class _CalmServer(uvicorn.Server):
    """uvicorn wakes ten times a second to check for shutdown and refresh its Date header; an
    idle daemon should not wake at all. This one sleeps until told to stop (no Date header)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._exit: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._exit = asyncio.Event()
        if not self.should_exit:
            await self._exit.wait()

    def wake(self) -> None:
        self.should_exit = True
        if self._loop is not None and self._exit is not None:
            self._loop.call_soon_threadsafe(self._exit.set)


class Server:
    def __init__(
        self,
        app: FastAPI,
        sock: socket.socket,
        *,
        request_timeout: float = REQUEST_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        class Protocol(_GuardedH11):
            pass

        Protocol.request_timeout = request_timeout
        Protocol.max_connections = max_connections
        config = uvicorn.Config(
            app,
            http=Protocol,
            ws="none",
            log_level="warning",
            access_log=False,
            lifespan="off",
            date_header=False,
        )
        self._server = _CalmServer(config)
        self._closing = getattr(app.state, "closing", None)  # the status page's live streams
        self._sock = sock
        self._thread = threading.Thread(target=self._run, name="syncd-api", daemon=True)

    def _run(self) -> None:
        self._server.run(sockets=[self._sock])

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        if self._closing is not None:
            self._closing.set()
        self._server.wake()
        self._thread.join(timeout)
