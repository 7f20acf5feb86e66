"""The CLI's client of a running daemon (`--api`: `syncd service`, `syncd volume`, `syncd plan`),
against stand-ins for the daemon on real sockets: a token goes to the daemon's URL only (a
redirect is reported, never followed), an unreadable token file is a clear error, a busy daemon
is asked again, and `syncd plan --api` keeps `syncd plan`'s exit codes."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from syncd.cli.main import main

TOKEN = "cli-client-t0ken-s3cret"
Reply = Callable[[str, str], tuple[int, dict[str, str], bytes]]


class Server:
    """A local HTTP server answering every request with `reply(method, path)`; records
    (method, path, Authorization, body) of each request."""

    def __init__(self, reply: Reply) -> None:
        self.seen: list[tuple[str, str, str, bytes]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.seen.append(
                    (self.command, self.path, self.headers.get("Authorization", ""), body)
                )
                status, headers, payload = reply(self.command, self.path)
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(payload))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = _any

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def ok(_method: str, _path: str) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/json"}, b"{}"


@pytest.fixture
def elsewhere() -> Iterator[Server]:
    """Another host (another port: another origin) that a redirect points to."""
    with Server(ok) as server:
        yield server


COMMANDS = [
    ["service", "restart", "shop/web"],
    ["volume", "rm", "shop/data"],
    ["plan", "--head", "refs/pull/12/head"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_a_redirect_is_reported_and_the_token_goes_nowhere_else(
    command: list[str],
    code: int,
    elsewhere: Server,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def redirect(_method: str, path: str) -> tuple[int, dict[str, str], bytes]:
        return code, {"Location": f"{elsewhere.url}/collect{path}"}, b""

    monkeypatch.setenv("SYNCD_ADMIN_TOKEN", TOKEN)
    monkeypatch.setenv("SYNCD_READ_TOKEN", TOKEN)
    with Server(redirect) as daemon:
        assert main([*command, "--api", daemon.url]) == 1
        assert daemon.seen and daemon.seen[0][2] == f"Bearer {TOKEN}"
    err = capsys.readouterr().err
    assert elsewhere.seen == []  # neither the token nor the request went there
    assert f"answered {code}" in err and "does not follow" in err and TOKEN not in err


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_an_unreadable_token_file_is_a_clear_error(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Server(ok) as daemon:
        missing = tmp_path / "no-such-token"
        assert main([*command, "--api", daemon.url, "--token-file", str(missing)]) == 1
        assert daemon.seen == []
    err = capsys.readouterr().err
    assert f"cannot read the token file {missing}" in err and "Traceback" not in err


def test_only_http_urls_are_asked(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("{}")
    for url in (f"file://{target}", "ftp://127.0.0.1/x", "127.0.0.1:8080"):
        assert main(["plan", "--head", "main", "--api", url]) == 1
        assert "is not an http:// or https:// URL" in capsys.readouterr().err


def answer(changed: bool) -> bytes:
    return json.dumps(
        {"output": "the plan, rendered", "changed": changed, "warnings": ["w1"]}
    ).encode()


def test_plan_api_asks_again_when_busy_and_keeps_plans_exit_codes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNCD_READ_TOKEN", TOKEN)
    monkeypatch.setattr("syncd.cli.liveplan.time.sleep", lambda seconds: None)
    replies = [
        (429, {"Retry-After": "3"}, b'{"type": "TooManyRequests", "message": "busy"}'),
        (200, {}, answer(True)),
        (200, {}, answer(False)),
        (422, {}, json.dumps({"message": "revision abc has invalid manifests",
                              "problems": [{"text": "stack.yaml:3:5: bad"}]}).encode()),
        (503, {}, b'{"type": "EngineUnavailable", "message": "no engine"}'),
    ]  # fmt: skip

    def reply(_method: str, _path: str) -> tuple[int, dict[str, str], bytes]:
        return replies.pop(0)

    with Server(reply) as daemon:
        args = ["plan", "--api", daemon.url, "--head", "refs/pull/12/head", "--format", "text"]
        assert main(args) == 2
        out = capsys.readouterr()
        assert out.out == "the plan, rendered\n" and "busy" in out.err and "warning: w1" in out.err
        assert main([*args[:-4], "--head", "0123abcd" * 5]) == 0
        assert main(args) == 1
        assert "stack.yaml:3:5: bad" in capsys.readouterr().err
        assert main(args) == 1
        assert "answered 503: no engine" in capsys.readouterr().err
    bodies = [json.loads(body) for _, _, _, body in daemon.seen]
    assert bodies[0] == bodies[1] == {"ref": "refs/pull/12/head", "format": "text"}
    assert bodies[2] == {"revision": "0123abcd" * 5, "format": "text"}  # plan's default
    assert {path for _, path, _, _ in daemon.seen} == {"/v2/syncd/plans"}
    assert {auth for _, _, auth, _ in daemon.seen} == {f"Bearer {TOKEN}"}


def test_plan_api_needs_a_head_and_no_base(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--api", "http://127.0.0.1:9"]) == 1
    assert "--api needs --head" in capsys.readouterr().err
    assert main(["plan", "--api", "http://127.0.0.1:9", "--head", "x", "--base", "main"]) == 1
    assert "--base and --api do not go together" in capsys.readouterr().err


def test_plan_api_never_lets_the_answer_drive_the_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever answers at --api URL (a look-alike, a proxy): escape sequences (OSC 52 writes
    the clipboard, CSI 2J clears the screen) are shown escaped, and an answer of another shape
    is an error, never a traceback."""
    monkeypatch.setenv("SYNCD_READ_TOKEN", TOKEN)
    evil = "\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\r\x9b31m"
    replies: list[tuple[int, dict[str, str], bytes]] = [
        (200, {}, json.dumps({"output": f"plan {evil}", "changed": True,
                              "warnings": [f"w {evil}"]}).encode()),
        (422, {}, json.dumps({"message": f"bad {evil}", "problems": [{"text": evil}]}).encode()),
        (500, {}, json.dumps({"message": f"boom {evil}"}).encode()),
        (200, {}, json.dumps({"output": "plan", "warnings": 5}).encode()),
        (422, {}, json.dumps({"message": "m", "problems": 7}).encode()),
    ]  # fmt: skip

    def reply(_method: str, _path: str) -> tuple[int, dict[str, str], bytes]:
        return replies.pop(0)

    with Server(reply) as daemon:
        args = ["plan", "--api", daemon.url, "--head", "refs/pull/12/head"]
        outputs = []
        for expected in (2, 1, 1, 0, 1):
            assert main(args) == expected
            out = capsys.readouterr()
            outputs.append(out.out + out.err)
    for text in outputs:
        assert not any(c in text for c in "\x1b\x07\r\x9b"), text
        assert "Traceback" not in text
    assert "\\x1b]52;c;" in outputs[0] and "\\x1b[2J" in outputs[1] and "boom" in outputs[2]
