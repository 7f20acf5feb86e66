"""A fake git host on 127.0.0.1: the REST endpoints of GitHub, Gitea/Forgejo and GitLab that syncd
calls, with the paths, headers and JSON shapes their documentation gives.

- GitHub (`/`): GET /user; GET/POST /repos/{o}/{r}/issues/{n}/comments (`per_page`, `page`);
  PATCH /repos/{o}/{r}/issues/comments/{id}. Auth `Authorization: Bearer <t>` (or `token <t>`).
  A comment body over 65536 characters is refused with 422, as GitHub does.
- Gitea (`/api/v1`): the same paths and shapes (`limit`, `page`); auth `Authorization: token <t>`.
- GitLab (`/api/v4`): GET /user; GET/POST /projects/{id}/merge_requests/{iid}/notes (`per_page`,
  `page`); PUT .../notes/{note_id}. Auth `PRIVATE-TOKEN: <t>`. `{id}` is a number or an
  url-encoded path.

Every request is recorded in `.requests`, every comment in `.comments` (dicts: provider, repo,
number, id, body, author). `.statuses` is for the commit-status endpoints; more routes are added
to `.routes` as (method, pattern, handler). Editing a comment is allowed to any known token, as
the hosts allow it to whoever may write to the repository: a client must pick its own comment.
"""

from __future__ import annotations

import http.server
import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

GITHUB_MAX_BODY = 65536
Reply = tuple[int, Any]


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: Any
    login: str | None = None  # whose token it carried (None: no valid token)
    provider: str = ""


Handler = Callable[[Request, "re.Match[str]"], Reply]


@dataclass
class FakeGitHost:
    """`users`: token -> login (GET /user answers it); `ci_tokens`: token -> login of a CI
    token that may not ask GET /user (403), as GitHub's GITHUB_TOKEN."""

    users: Mapping[str, str] = field(default_factory=dict)
    ci_tokens: Mapping[str, str] = field(default_factory=dict)
    redirect_to: str | None = None  # answer every request with 307 to this base URL
    comments: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    fail_next: Reply | None = None  # the next request's answer, whatever it asks
    routes: list[tuple[str, re.Pattern[str], Handler]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._next_id = 1000
        for prefix in ("/api/v1", ""):  # Gitea, GitHub
            repo = rf"^{prefix}/repos/(?P<repo>[^/]+/[^/]+)/issues"
            self.routes += [
                ("GET", re.compile(rf"^{prefix}/user$"), self._me),
                ("GET", re.compile(rf"{repo}/(?P<n>\d+)/comments$"), self._list),
                ("POST", re.compile(rf"{repo}/(?P<n>\d+)/comments$"), self._create),
                ("PATCH", re.compile(rf"{repo}/comments/(?P<id>\d+)$"), self._edit),
            ]
        notes = r"^/api/v4/projects/(?P<repo>[^/]+)/merge_requests/(?P<n>\d+)/notes"
        self.routes += [
            ("GET", re.compile(r"^/api/v4/user$"), self._me),
            ("GET", re.compile(rf"{notes}$"), self._list),
            ("POST", re.compile(rf"{notes}$"), self._create),
            ("PUT", re.compile(rf"{notes}/(?P<id>\d+)$"), self._edit),
        ]

    # -- the server ----------------------------------------------------------------------------

    def __enter__(self) -> FakeGitHost:
        host = self

        class _Handler(http.server.BaseHTTPRequestHandler):
            def _serve(self) -> None:
                status, body, headers = host._answer(self)
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _answer(
        self, handler: http.server.BaseHTTPRequestHandler
    ) -> tuple[int, Any, dict[str, str]]:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(min(length, 4 * 1024 * 1024)) if length else b""
        headers = {k.lower(): v for k, v in handler.headers.items()}
        request = Request(
            handler.command,
            parts.path,
            {k: v[0] for k, v in parse_qs(parts.query).items()},
            headers,
            json.loads(raw) if raw else None,
        )
        request.provider = self._provider(parts.path)
        request.login = self._login(request)
        with self._lock:
            self.requests.append(request)
            if self.redirect_to is not None:
                return 307, None, {"Location": self.redirect_to + handler.path}
            if self.fail_next is not None:
                (status, body), self.fail_next = self.fail_next, None
                return status, body, {}
            for method, pattern, route in self.routes:
                match = pattern.match(parts.path)
                if match and method == request.method:
                    if request.login is None:
                        return 401, {"message": "Bad credentials"}, {}
                    status, body = route(request, match)
                    return status, body, {}
        return 404, {"message": "Not Found"}, {}

    @staticmethod
    def _provider(path: str) -> str:
        if path.startswith("/api/v4/"):
            return "gitlab"
        return "gitea" if path.startswith("/api/v1/") else "github"

    def _login(self, request: Request) -> str | None:
        if request.provider == "gitlab":
            token = request.headers.get("private-token", "")
        else:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() not in ("bearer", "token"):
                return None
        return self.users.get(token) or self.ci_tokens.get(token)

    # -- the endpoints -------------------------------------------------------------------------

    def _me(self, request: Request, match: re.Match[str]) -> Reply:
        if request.login not in self.users.values():
            return 403, {"message": "Resource not accessible by integration"}
        key = "username" if request.provider == "gitlab" else "login"
        return 200, {key: request.login, "id": 1}

    def _shape(self, comment: dict[str, Any]) -> dict[str, Any]:
        if comment["provider"] == "gitlab":
            who = {"username": comment["author"], "id": comment["author_id"]}
            return {"id": comment["id"], "body": comment["body"], "author": who, "system": False}
        return {
            "id": comment["id"],
            "body": comment["body"],
            "user": {"login": comment["author"], "id": comment["author_id"]},
            "html_url": f"{self.url}/{comment['repo']}/pull/{comment['number']}#c{comment['id']}",
        }

    def _list(self, request: Request, match: re.Match[str]) -> Reply:
        size_name = "limit" if request.provider == "gitea" else "per_page"
        size = min(int(request.query.get(size_name, "30")), 100)
        page = int(request.query.get("page", "1"))
        mine = [
            c
            for c in self.comments
            if (c["provider"], c["repo"], c["number"])
            == (request.provider, unquote(match["repo"]), int(match["n"]))
        ]
        return 200, [self._shape(c) for c in mine[(page - 1) * size : page * size]]

    def add_comment(  # noqa: PLR0917 - a comment's fields
        self, provider: str, repo: str, number: int, body: str, author: str, author_id: int = 500
    ) -> dict[str, Any]:
        """`author_id`: a registered account's is positive; Gitea's and Forgejo's Actions user
        is -2 (no account can have it)."""
        self._next_id += 1
        comment = {
            "provider": provider,
            "repo": repo,
            "number": number,
            "id": self._next_id,
            "body": body,
            "author": author,
            "author_id": author_id,
        }
        self.comments.append(comment)
        return comment

    def _body(self, request: Request) -> str | Reply:
        body = request.body.get("body") if isinstance(request.body, dict) else None
        if not isinstance(body, str) or not body:
            return 422, {"message": "body is missing"}
        if request.provider == "github" and len(body) > GITHUB_MAX_BODY:
            return 422, {"message": "Validation Failed: body is too long (maximum is 65536)"}
        return body

    def _create(self, request: Request, match: re.Match[str]) -> Reply:
        body = self._body(request)
        if not isinstance(body, str):
            return body
        assert request.login is not None
        repo = unquote(match["repo"])
        actions = request.provider == "gitea" and request.login in self.ci_tokens.values()
        comment = self.add_comment(
            request.provider, repo, int(match["n"]), body, request.login, -2 if actions else 1
        )
        return 201, self._shape(comment)

    def _edit(self, request: Request, match: re.Match[str]) -> Reply:
        body = self._body(request)
        if not isinstance(body, str):
            return body
        for comment in self.comments:
            same_repo = (comment["provider"], comment["repo"]) == (
                request.provider,
                unquote(match["repo"]),
            )
            if comment["id"] == int(match["id"]) and same_repo:
                if request.provider == "gitlab" and comment["number"] != int(match["n"]):
                    continue
                comment["body"] = body
                return 200, self._shape(comment)
        return 404, {"message": "Not Found"}
