"""Webhook receivers on 127.0.0.1 for the notification tests: one that keeps each JSON event
(`Receiver`), and one that accepts connections and never answers (`Silent`)."""

from __future__ import annotations

import json
import socket
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.signatures: list[str | None] = []  # X-Syncd-Signature-256 of each event
        self.bodies: list[bytes] = []
        self.answers: deque[int] = deque()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.paths.append(self.path)
                    code = receiver.answers.popleft() if receiver.answers else 204
                    if code < 300:
                        receiver.events.append(json.loads(body))
                        receiver.bodies.append(body)
                        receiver.signatures.append(self.headers.get("X-Syncd-Signature-256"))
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def of(self, event: str, revision: str) -> list[dict[str, Any]]:
        with self.lock:
            return [e for e in self.events if e["event"] == event and e["revision"] == revision]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Silent:
    """A listening socket nobody reads from: a connection opens, and no answer ever comes."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"

    def close(self) -> None:
        self.sock.close()
