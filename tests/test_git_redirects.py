"""A remote that answers with an HTTP redirect never gets syncd's credentials sent on to the host
it names: two real HTTPS servers on 127.0.0.1 (another port is another host for git), the first
redirecting, the second a real git server (`git http-backend`) recording what arrives."""

from __future__ import annotations

import base64
import http.server
import os
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from syncd.errors import SourceError
from syncd.source.repository import Credentials, Repository
from tests.gitrepo import GitRepo

TOKEN = "tok-3f9c1d7e"
PASSWORD = "pw-81be2a40"


@dataclass
class Seen:
    """What a server received: (method, path, Authorization header or None)."""

    requests: list[tuple[str, str, str | None]] = field(default_factory=list)

    def authorizations(self) -> list[str]:
        return [auth for _, _, auth in self.requests if auth is not None]


def _backend(root: Path, seen: Seen) -> type[http.server.BaseHTTPRequestHandler]:
    class GitServer(http.server.BaseHTTPRequestHandler):
        def _serve(self) -> None:
            seen.requests.append((self.command, self.path, self.headers.get("Authorization")))
            path, _, query = self.path.partition("?")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if self.command == "POST" else b""
            env = {
                "PATH": os.environ["PATH"],
                "GIT_PROJECT_ROOT": str(root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "REQUEST_METHOD": self.command,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            }
            out = subprocess.run(
                ["git", "http-backend"], input=body, env=env, capture_output=True, check=True
            ).stdout
            head, _, payload = out.partition(b"\r\n\r\n")
            status, headers = 200, []
            for line in head.decode().split("\r\n"):
                name, _, value = line.partition(": ")
                if name.lower() == "status":
                    status = int(value.split()[0])
                else:
                    headers.append((name, value))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve

        def log_message(self, *args: object) -> None:
            pass

    return GitServer


def _redirector(
    target: str, seen: Seen, *, ask_for_credentials: bool
) -> type[http.server.BaseHTTPRequestHandler]:
    class Redirector(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            auth = self.headers.get("Authorization")
            seen.requests.append((self.command, self.path, auth))
            if ask_for_credentials and auth is None:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
            else:
                self.send_response(302)
                self.send_header("Location", target + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    return Redirector


@dataclass(frozen=True)
class Tls:
    context: ssl.SSLContext
    cafile: Path


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem")),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return Tls(context, folder / "cert.pem")


@dataclass
class Hosts:
    moved: str  # https://127.0.0.1:<port>/repo.git, answering with a redirect
    other: str  # where it redirects to
    moved_seen: Seen
    other_seen: Seen  # the host the redirect names, a real git server


def _start(
    handler: type[http.server.BaseHTTPRequestHandler], tls: Tls
) -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.socket = tls.context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(params=[False, True], ids=["redirects-at-once", "redirects-once-authorized"])
def hosts(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    tls: Tls,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Hosts]:
    work = GitRepo(tmp_path / "work")
    work.write("stack.yaml", "kind: Stack\n")
    work.commit("first")
    subprocess.run(
        ["git", "clone", "-q", "--bare", str(work.path), str(tmp_path / "served" / "repo.git")],
        check=True,
    )
    monkeypatch.setenv("GIT_SSL_CAINFO", str(tls.cafile))
    moved_seen, other_seen = Seen(), Seen()
    other = _start(_backend(tmp_path / "served", other_seen), tls)
    target = f"https://127.0.0.1:{other.server_address[1]}"
    moved = _start(_redirector(target, moved_seen, ask_for_credentials=request.param), tls)
    try:
        yield Hosts(
            f"https://127.0.0.1:{moved.server_address[1]}/repo.git",
            f"{target}/repo.git",
            moved_seen,
            other_seen,
        )
    finally:
        for server in (moved, other):
            server.shutdown()
            server.server_close()


def _fetch(repo: Repository) -> str:
    try:
        return repo.head()  # ls-remote, then fetch
    except SourceError as err:
        return str(err)


def _credentials_in(seen: Seen) -> list[str]:
    return [
        base64.b64decode(auth.removeprefix("Basic ")).decode()
        for auth in seen.authorizations()
        if auth.startswith("Basic ")
    ]


def test_a_token_file_is_not_sent_to_the_host_a_redirect_names(
    hosts: Hosts, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    repo = Repository(
        hosts.moved,
        tmp_path / "data",
        branch="main",
        credentials=Credentials(token_file=token_file),
    )
    outcome = _fetch(repo)
    assert [cred for cred in _credentials_in(hosts.moved_seen) if TOKEN in cred]  # it was used
    assert _credentials_in(hosts.other_seen) == []
    assert "redirect" in outcome
    assert "new URL" in outcome
    assert TOKEN not in outcome


def test_url_credentials_are_not_sent_to_the_host_a_redirect_names(
    hosts: Hosts, tmp_path: Path
) -> None:
    location = hosts.moved.replace("https://", f"https://deploy:{PASSWORD}@")
    repo = Repository(location, tmp_path / "data", branch="main")
    outcome = _fetch(repo)
    assert _credentials_in(hosts.other_seen) == []
    assert "redirect" in outcome
    assert PASSWORD not in outcome


def test_the_new_url_the_error_asks_for_works(hosts: Hosts, tmp_path: Path) -> None:
    """The way out (give the new URL) works, and the servers of these tests are real."""
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    credentials = Credentials(token_file=token_file)
    repo = Repository(hosts.other, tmp_path / "data", branch="main", credentials=credentials)
    head = repo.head()
    assert repo.snapshot(head).revision == head
    assert [cred for cred in _credentials_in(hosts.other_seen) if TOKEN in cred]
    assert hosts.moved_seen.requests == []
