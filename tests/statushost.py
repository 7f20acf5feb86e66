"""A fake git host on 127.0.0.1 (stdlib `http.server`) for commit statuses, the daemon's side:
the endpoints of GitHub (`/repos/{o}/{r}/statuses/{sha}`), Gitea
(`/api/v1/repos/{o}/{r}/statuses/{sha}`) and GitLab (`/api/v4/projects/{id}/statuses/{sha}`), as
their documentation describes them (tests/githost.py is the comment side, for `syncd comment`).
Every request is kept (`requests`), the statuses parsed (`statuses`). `answers` queues status
codes to answer with first (e.g. 503 to test retries, 302 to test that no redirect is followed)."""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

_ROUTES = [
    ("gitea", re.compile(r"^/api/v1/repos/([^/]+)/([^/]+)/statuses/([0-9a-f]{40})$")),
    ("gitlab", re.compile(r"^/api/v4/projects/([^/]+)/statuses/([0-9a-f]{40})$")),
    ("github", re.compile(r"^/repos/([^/]+)/([^/]+)/statuses/([0-9a-f]{40})$")),
]
GITHUB_STATES = {"pending", "success", "failure", "error"}
GITLAB_STATES = {"pending", "running", "success", "failed", "canceled"}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Status:
    provider: str
    repo: str
    sha: str
    state: str
    description: str
    target_url: str | None
    context: str
    token: str | None


@dataclass
class FakeStatusHost:
    comments: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[Status] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    answers: deque[int] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)
    redirect_to: str = "http://127.0.0.2:9/elsewhere"  # where a 3xx answer points

    def __post_init__(self) -> None:
        host = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                code = host.handle(self.command, self.path, dict(self.headers.items()), body)
                self.send_response(code)
                if 300 <= code < 400:
                    self.send_header("Location", host.redirect_to + self.path)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            self.requests.append(Request(method, path, headers, body))
            if self.answers:
                return self.answers.popleft()
        for provider, pattern in _ROUTES:
            match = pattern.match(path)
            if match:
                return self._status(provider, match.groups(), headers, body)
        return 404

    def _status(
        self, provider: str, groups: tuple[str, ...], headers: dict[str, str], body: bytes
    ) -> int:
        try:
            data = json.loads(body)
        except ValueError:
            return 400
        lower = {k.lower(): v for k, v in headers.items()}
        if provider == "gitlab":
            repo, sha = unquote(groups[0]), groups[1]
            token = lower.get("private-token")
            states, context = GITLAB_STATES, data.get("name", "default")
        else:
            repo, sha = f"{unquote(groups[0])}/{unquote(groups[1])}", groups[2]
            auth = lower.get("authorization", "")
            token = auth.split(" ", 1)[1] if " " in auth else None
            states, context = GITHUB_STATES, data.get("context", "default")
        if data.get("state") not in states or token is None:
            return 422 if token else 401
        status = Status(
            provider,
            repo,
            sha,
            data["state"],
            data.get("description", ""),
            data.get("target_url"),
            context,
            token,
        )
        with self.lock:
            self.statuses.append(status)
        return 201

    def states(self, sha: str) -> list[str]:
        with self.lock:
            return [s.state for s in self.statuses if s.sha == sha]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
