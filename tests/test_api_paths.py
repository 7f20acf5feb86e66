"""Who may call a route is decided on the path the router dispatches on, never on a URL rebuilt
from what the client wrote: a `Host` header holding a path, query or fragment is refused (400)
before anything reads the URL (CVE-2026-48710: it once made `/metrics` look like one of the
status page's own paths, which check their tokens themselves), and an ASGI root path does not
move the token check off the route either. Over a real socket, raw requests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any, cast

import pytest
import uvicorn

from syncd.api.app import create_app
from syncd.api.auth import route_path
from syncd.api.hosts import valid_host
from syncd.api.server import Server, bind

READ, ADMIN = "read-token-paths", "admin-token-paths"
METRICS = b"syncd_secret_looking_metric 1\n"
# Hosts that move the rebuilt URL's path onto a page path (`/logs/`, `/static/`, `/`) or its host
POISONED = ("x/logs/", "x/static/?", "x/?", "x/signin#", "x@y", "x\\y", "x y", "x/")


def _app() -> Any:
    stand_in = SimpleNamespace(  # the app's wiring: only /metrics is asked here
        config=SimpleNamespace(read_token=READ, admin_token=ADMIN, webhook_secret=None),
        state=None,
        tasks=None,
        view=None,
        metrics=SimpleNamespace(render=lambda: METRICS),
    )
    return create_app(cast(Any, stand_in))


def raw(port: int, head: str) -> tuple[int, bytes]:
    """Status and body of one raw request (`head` without its final blank line)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(head.encode("latin-1") + b"\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    return status, answer.partition(b"\r\n\r\n")[2]


@contextmanager
def serving() -> Iterator[int]:
    sock = bind("127.0.0.1", 0)
    server = Server(_app(), sock)
    server.start()
    try:
        yield sock.getsockname()[1]
    finally:
        server.stop()
        sock.close()


@contextmanager
def serving_under(root_path: str) -> Iterator[int]:
    """uvicorn with an ASGI root path (a proxy that serves the API below a prefix)."""
    sock = bind("127.0.0.1", 0)
    config = uvicorn.Config(_app(), root_path=root_path, log_level="error", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started, "uvicorn did not start"
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.mark.parametrize("host", POISONED)
def test_a_host_that_would_move_the_url_is_refused(host: str) -> None:
    with serving() as port:
        status, body = raw(port, f"GET /metrics HTTP/1.1\r\nHost: {host}")
        assert status == 400, (host, status, body)
        assert METRICS not in body
        # with the token too: the request is malformed, whoever sends it
        status, _ = raw(port, f"GET /metrics HTTP/1.1\r\nHost: {host}\r\nX-Access-Token: {READ}")
        assert status == 400


def test_hosts_as_clients_send_them_pass_to_the_token_check() -> None:
    with serving() as port:
        for host in ("127.0.0.1", "127.0.0.1:8080", "[::1]:8080", "syncd.example.org", "a-b_c"):
            head = f"GET /metrics HTTP/1.1\r\nHost: {host}"
            assert raw(port, head)[0] == 401, host
            assert raw(port, f"{head}\r\nAuthorization: Bearer {READ}") == (200, METRICS), host
        assert raw(port, "GET /metrics HTTP/1.0")[0] == 401  # no Host at all
        two = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: x"
        assert raw(port, two)[0] == 400


@pytest.mark.parametrize("root", ["/logs/x", "/static", "/static/x"])
def test_the_token_is_checked_on_the_routed_path_under_a_root_path(root: str) -> None:
    with serving_under(root) as port:
        status, body = raw(port, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1")
        assert status == 401, (status, body)
        assert METRICS not in body
        head = f"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Access-Token: {READ}"
        assert raw(port, head) == (200, METRICS)


def test_route_path_is_the_path_less_its_root() -> None:
    assert route_path({"path": "/metrics"}) == "/metrics"
    assert route_path({"path": "/logs/x/metrics", "root_path": "/logs/x"}) == "/metrics"
    assert route_path({"path": "/logs/xy", "root_path": "/logs/x"}) == "/logs/xy"
    assert route_path({"path": "/logs/x", "root_path": "/logs/x"}) == ""
    assert valid_host(b"[fe80::1]:80") and not valid_host(b"[fe80::1]/x")
