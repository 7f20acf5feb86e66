"""Slow clients over a real socket: a request that does not arrive in time loses its connection,
the number of connections is bounded, and /healthz answers while an attacker holds the rest."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import closing, contextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from syncd.api.server import MAX_CONNECTIONS, REQUEST_TIMEOUT, Server, bind

# how long a test waits for the server to close a slow connection (the timeout, plus room for a
# busy machine): a connection still open after that was never going to be closed
PATIENCE = REQUEST_TIMEOUT + 20.0
BUSY: list[int] = []
STREAM_ENDED = threading.Event()
PARTIAL_HEAD = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "


BIG = 1600  # chunks of 64 KiB: 100 MiB, far more than the socket buffers hold


def _app(release: threading.Event, ended: threading.Event) -> FastAPI:
    app = FastAPI()

    @app.get("/big")
    def big() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            try:
                for _ in range(BIG):
                    yield b"x" * 65536
            finally:
                ended.set()

        return StreamingResponse(chunks(), media_type="application/octet-stream")

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.get("/busy")
    def busy() -> JSONResponse:
        BUSY.append(1)
        release.wait(PATIENCE)
        return JSONResponse({"status": "done"})

    @app.post("/echo")
    async def echo(request: Request) -> JSONResponse:
        return JSONResponse({"length": len(await request.body())})

    return app


@contextmanager
def _serving(**limits: float) -> Iterator[tuple[int, threading.Event]]:
    release = threading.Event()
    sock = bind("127.0.0.1", 0)
    app = _app(release, STREAM_ENDED)
    server = Server(app, sock, **limits)  # type: ignore[arg-type]
    server.start()
    try:
        yield sock.getsockname()[1], release
    finally:
        release.set()
        server.stop()
        sock.close()


def _slow(port: int, first: bytes = PARTIAL_HEAD) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", port), timeout=PATIENCE)
    conn.sendall(first)
    return conn


def _closed_by_server(conn: socket.socket) -> bool:
    """Waits (up to PATIENCE) for the server to close `conn`; what it sent before is skipped."""
    try:
        while chunk := conn.recv(4096):
            del chunk
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True


def _still_open(conn: socket.socket) -> bool:
    """Whether the server has not closed `conn` (now, without waiting)."""
    conn.settimeout(0)
    try:
        return conn.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except ConnectionResetError:
        return False
    finally:
        conn.settimeout(PATIENCE)


def _get(port: int, path: str) -> httpx.Response:
    return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=PATIENCE)


def test_a_connection_that_never_finishes_its_head_is_closed() -> None:
    with _serving() as (port, _), closing(_slow(port)) as conn:
        # a byte a second: each byte that arrives never moves the deadline
        for _ in range(int(PATIENCE)):
            try:
                conn.sendall(b"a")
            except (BrokenPipeError, ConnectionResetError):
                break
            if not _still_open(conn):
                break
            time.sleep(1)
        assert not _still_open(conn)


def test_a_connection_that_sends_nothing_is_closed() -> None:
    with _serving() as (port, _), closing(_slow(port, b"")) as conn:
        assert _closed_by_server(conn)


def test_a_body_that_never_ends_is_closed() -> None:
    head = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789"
    with _serving() as (port, _), closing(_slow(port, head)) as conn:
        assert _closed_by_server(conn)
        assert _get(port, "/healthz").json() == {"status": "ok"}


def test_a_kept_alive_connection_must_finish_its_next_head_in_time() -> None:
    with _serving() as (port, _), closing(_slow(port, b"")) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while b'{"status":"ok"}' not in answer:
            answer += conn.recv(4096)
        assert answer.startswith(b"HTTP/1.1 200 ")
        conn.sendall(b"GET /healthz HTTP/1.1\r\n")  # the next request starts, never ends
        assert _closed_by_server(conn)


def test_healthz_answers_while_an_attacker_holds_200_slow_connections() -> None:
    with _serving() as (port, _):
        attacker = [_slow(port) for _ in range(200)]
        try:
            answer = _get(port, "/healthz")
            # before the attacker's connections timed out, it still holds the most it can
            held = [conn for conn in attacker if _still_open(conn)]
            assert answer.status_code == 200
            assert answer.json() == {"status": "ok"}
            assert len(held) >= MAX_CONNECTIONS // 2
            # the server never holds more than its bound: the oldest slow ones were closed
            assert len(held) <= MAX_CONNECTIONS
            assert all(_closed_by_server(conn) for conn in attacker)
        finally:
            for conn in attacker:
                conn.close()


def test_connections_beyond_the_bound_are_answered_503_when_all_are_busy() -> None:
    BUSY.clear()
    with _serving(max_connections=3) as (port, release):
        busy = [threading.Thread(target=_get, args=(port, "/busy")) for _ in range(3)]
        for thread in busy:
            thread.start()
        try:
            for _ in range(int(PATIENCE * 10)):  # until the three hold the server
                if len(BUSY) == 3:
                    break
                time.sleep(0.1)
            answer = _get(port, "/healthz")
            assert answer.status_code == 503
            assert answer.headers["connection"] == "close"
        finally:
            release.set()
            for thread in busy:
                thread.join(PATIENCE)
        assert _get(port, "/healthz").status_code == 200


def test_a_new_client_closes_the_oldest_slow_connection_when_all_are_taken() -> None:
    with _serving(max_connections=3) as (port, _):
        attacker = [_slow(port) for _ in range(3)]
        try:
            assert _get(port, "/healthz").status_code == 200
            assert _closed_by_server(attacker[0])
            assert all(_still_open(conn) for conn in attacker[1:])
        finally:
            for conn in attacker:
                conn.close()


def test_a_client_that_stops_reading_its_answer_is_closed() -> None:
    STREAM_ENDED.clear()
    with _serving() as (port, _), closing(_slow(port, b"")) as conn:
        conn.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        # never read: the server stops waiting for this client and abandons the answer
        assert STREAM_ENDED.wait(PATIENCE)
        received = 0
        try:
            while chunk := conn.recv(1 << 20):
                received += len(chunk)
        except ConnectionResetError:
            pass
        assert received < BIG * 65536  # the answer was cut: the connection was closed
