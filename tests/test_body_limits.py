"""Hostile request bodies against a running daemon, over a real socket: limits hold while a
chunked body streams in (before anything is buffered), a client that leaves mid-body and a
deeply nested webhook payload each get one log line and never a traceback or a 500."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import select
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemon_support import RunningDaemon, wait_for
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.docker

SECRET = "body-limit-test-secret"
MiB = 1024 * 1024


@pytest.fixture
def daemon(deployment: Deployment) -> Iterator[RunningDaemon]:
    repo = GitRepo(deployment.repo)
    repo.write("README.md", "no manifests yet\n")
    repo.commit("empty")
    running = RunningDaemon(
        str(repo.path), deployment.settings.data_dir, deployment.instance,
        env={"SYNCD_WEBHOOK_SECRET": SECRET},
    )  # fmt: skip
    try:
        yield running.started()
    finally:
        running.close()


def stream(
    port: int, path: str, total: int, headers: dict[str, str] | None = None
) -> tuple[http.client.HTTPResponse, int]:
    """POST `total` bytes to `path` as a chunked body (no Content-Length), 64 KiB a chunk,
    stopping early once the server answers or closes. The answer, and the bytes sent."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = f"POST {path} HTTP/1.1\r\nHost: syncd\r\nTransfer-Encoding: chunked\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    sock.sendall(head.encode() + b"\r\n")
    data = b"[" * (64 * 1024)
    chunk = f"{len(data):x}\r\n".encode() + data + b"\r\n"
    sent = 0
    while sent < total:
        if select.select([sock], [], [], 0)[0]:  # an answer (or a close) is waiting
            break
        try:
            sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            break
        sent += len(data)
    else:
        sock.sendall(b"0\r\n\r\n")
    response = http.client.HTTPResponse(sock)
    response.begin()
    return response, sent


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_chunked_body_over_a_routes_limit_is_refused_while_it_streams(
    daemon: RunningDaemon,
) -> None:
    for path in ("/v2/actions/validate-container-registry-uri", "/healthz"):
        response, sent = stream(daemon.port, path, 20 * MiB, {"Content-Type": "application/json"})
        body = response.read()
        assert response.status == 413, (path, response.status, body)
        assert b'"type": "PayloadTooLarge"' in body and b"65536 bytes" in body
        assert sent < 20 * MiB, "the server read the whole body before answering"
    assert daemon.http.get("/healthz").status_code in (200, 503)


def test_a_chunked_200_mib_webhook_is_refused_without_buffering_it(
    daemon: RunningDaemon,
) -> None:
    pid = daemon.process.pid
    before = rss_kib(pid)
    response, sent = stream(daemon.port, "/hooks/git", 200 * MiB)
    body = response.read()
    after = rss_kib(pid)
    assert response.status == 413 and b"PayloadTooLarge" in body
    assert sent < 200 * MiB
    assert after - before < 50 * 1024, f"RSS grew {(after - before) // 1024} MB"


def test_a_client_leaving_mid_body_gets_one_log_line_and_no_traceback(
    daemon: RunningDaemon,
) -> None:
    for path in ("/hooks/git", "/v2/actions/validate-container-registry-uri"):
        with socket.create_connection(("127.0.0.1", daemon.port), timeout=10) as sock:
            sock.sendall(
                f"POST {path} HTTP/1.1\r\nHost: syncd\r\nContent-Length: 60000\r\n"
                "Content-Type: application/json\r\n\r\n".encode()
            )
            sock.sendall(b'{"ref": "refs/heads/')
    wait_for(lambda: daemon.log().count("request_abandoned") == 2, 10, "two log lines")
    assert daemon.http.get("/healthz").status_code in (200, 503)
    log = daemon.log()
    assert "Traceback" not in log and "Exception in ASGI" not in log, log


def test_a_deeply_nested_payload_is_a_400_not_a_crash(daemon: RunningDaemon) -> None:
    deep = b"[" * 100_000
    signature = "sha256=" + hmac.new(SECRET.encode(), deep, hashlib.sha256).hexdigest()
    answer = daemon.http.post(
        "/hooks/git", content=deep, headers={"X-Hub-Signature-256": signature}
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["type"] == "BadRequest" and "nests too deeply" in answer.json()["message"]
    wait_for(lambda: "webhook_malformed" in daemon.log(), 10, "the log line")
    unsigned = daemon.http.post("/hooks/git", content=deep)
    assert unsigned.status_code == 401
    nested = b"[" * 30_000 + b"]" * 30_000  # within the 64 KiB limit: FastAPI parses it
    answer = daemon.http.post(
        "/v2/actions/validate-container-registry-uri",
        content=nested,
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 400 and answer.json()["type"] == "Error"
    log = daemon.log()
    assert "Traceback" not in log and log.count("webhook_malformed") == 1, log


def test_concurrent_webhook_bodies_share_one_budget(daemon: RunningDaemon) -> None:
    """A webhook body is read whole before its signature can be checked: without a shared
    budget, N unsigned 5 MiB bodies held open at once cost N times 5 MiB."""
    body = 4 * MiB + MiB // 2  # each within the 5 MiB route limit; 6 together pass the budget
    socks = []
    for _ in range(6):
        sock = socket.create_connection(("127.0.0.1", daemon.port), timeout=30)
        head = f"POST /hooks/git HTTP/1.1\r\nHost: syncd\r\nContent-Length: {5 * MiB - 1}\r\n\r\n"
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # answered meanwhile
            sock.sendall(head.encode() + b"{" * body)  # the body never ends
        socks.append(sock)
    try:

        def answered() -> list[socket.socket]:
            return select.select(socks, [], [], 0)[0]

        wait_for(lambda: bool(answered()), 30, "a request over the shared budget to be answered")
        refused = answered()
        for sock in refused:
            response = http.client.HTTPResponse(sock)
            response.begin()
            assert response.status == 503, response.status
            assert b"ServiceUnavailable" in response.read()
        assert len(refused) < len(socks)  # the others are still being read
    finally:
        for sock in socks:
            sock.close()
    held = len(socks) - len(refused)
    wait_for(lambda: daemon.log().count("request_abandoned") >= held, 30, "the budget freed")
    assert daemon.http.post("/hooks/git", content=b"{}").status_code == 401  # unsigned, read
    assert "Traceback" not in daemon.log()
