"""A registry an attacker controls, on 127.0.0.1: it records every connection and request that
reaches it (Docker talks plain HTTP to 127.0.0.0/8), so a test can prove that nothing, and
above all no `Authorization` header, was sent to it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Seen:
    connections: int = 0
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def authorizations(self) -> list[str]:
        with self.lock:
            return [h["authorization"] for _m, _p, h in self.requests if "authorization" in h]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    seen: Seen


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.seen.lock:
            self.server.seen.connections += 1

    def do_GET(self) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        with self.server.seen.lock:
            self.server.seen.requests.append((self.command, self.path, headers))
        if "authorization" in headers:  # what it came for: the credentials; no image here
            self.send_response(404)
            self.send_header("Content-Length", "0")
        else:  # ask for them, as a real registry does
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="recorder"')
            self.send_header("Content-Length", "0")
        self.end_headers()

    do_HEAD = do_GET

    def log_message(self, format: str, *args: object) -> None:
        del format, args


@contextmanager
def recording_registry() -> Iterator[tuple[str, Seen]]:
    """(`127.0.0.1:<port>`, what it saw) while the block runs."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.seen = Seen()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", server.seen
    finally:
        server.shutdown()
        server.server_close()
