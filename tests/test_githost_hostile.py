"""A git host that does not speak HTTP, a token or URL http.client cannot send: `syncd comment`
ends with a clear error and its exit code, never a traceback, and never prints the token (which
http.client's own error would quote); the daemon refuses such settings at start instead of
failing every notification later. Real sockets on 127.0.0.1 and the real CLI."""

from __future__ import annotations

import contextlib
import io
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd.cli.main import main
from syncd.daemon.commitstatus import TokenFile
from syncd.errors import SyncdError
from tests.githost import FakeGitHost

TOKEN = "tok-5e6f7a8b9c0d"
CI = (
    "GITHUB_TOKEN",
    "GITEA_TOKEN",
    "GITHUB_API_URL",
    "GITHUB_REPOSITORY",
    "GITHUB_REF",
    "https_proxy",
)


class Garbage:
    """Answers every request with `answer` and closes: a host that is not (quite) HTTP."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn, contextlib.suppress(OSError):
                conn.recv(65536)
                conn.sendall(self.answer)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in CI:
        monkeypatch.delenv(name, raising=False)
    yield


def _comment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, api: str, token: str = TOKEN
) -> tuple[int, str]:
    monkeypatch.setenv("GITHUB_TOKEN", token)
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/deploy")
    plan = tmp_path / "plan.md"
    plan.write_text("a plan\n")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["comment", "--provider", "github", "--pr", "3", "--file", str(plan),
                     "--api-url", api])  # fmt: skip
    return code, out.getvalue() + err.getvalue()


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n",  # a header over 64 KiB
        b"SSH-2.0-OpenSSH_9.6\r\n",  # not HTTP at all
        b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n[1,2",  # cut short
    ],
    ids=["long-header", "not-http", "cut-short"],
)
def test_a_host_answering_something_that_is_not_http_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, answer: bytes
) -> None:
    host = Garbage(answer)
    try:
        code, output = _comment(monkeypatch, tmp_path, host.url)
    finally:
        host.close()
    assert code in (1, 69), output
    assert "127.0.0.1" in output and "Traceback" not in output
    assert TOKEN not in output


@pytest.mark.parametrize("token", [f"{TOKEN}\nX-Evil: 1", f"{TOKEN} second-half", f"{TOKEN}\u20ac"])
def test_a_token_no_header_can_carry_is_refused_without_showing_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, token: str
) -> None:
    host = Garbage(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]")
    try:
        code, output = _comment(monkeypatch, tmp_path, host.url, token)
    finally:
        host.close()
    assert code == 78, output
    assert "the token in GITHUB_TOKEN holds spaces, controls or non-ASCII" in output
    assert TOKEN not in output and "second-half" not in output


def test_an_api_url_http_client_cannot_send_is_a_settings_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    code, output = _comment(monkeypatch, tmp_path, "http://127.0.0.1:9/gitea/ä")
    assert code == 78, output
    assert "non-ASCII" in output


def test_the_daemon_refuses_a_non_ascii_webhook_url_or_token_at_start(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    argv = ["run", "--repo", str(tmp_path), "--data-dir", str(tmp_path / "d"), "--print-config",
            "--notify-webhook", "https://hooks.example.com/ä"]  # fmt: skip
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    assert code == 78 and "non-ASCII" in err.getvalue()  # an unusable setting (ExitCode.CONFIG)
    token = tmp_path / "token"
    token.write_text(f"{TOKEN}\u20ac\n")
    with pytest.raises(SyncdError, match="cannot read a token"):
        TokenFile(token)


def test_an_account_named_like_the_other_forges_actions_user_cannot_take_the_comment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Gitea does not reserve `forgejo-actions` (nor Forgejo `gitea-actions`): whoever registers
    it could plant the marker, have the plan written into their comment, then edit it."""
    with FakeGitHost(ci_tokens={TOKEN: "gitea-actions"}) as host:
        planted = host.add_comment(
            "gitea", "acme/deploy", 7, "<!-- syncd:plan -->\nall fine", "forgejo-actions", 31
        )
        env = {
            "GITHUB_API_URL": host.url + "/api/v1",
            "GITHUB_REPOSITORY": "acme/deploy",
            "GITHUB_REF": "refs/pull/7/merge",
            "GITEA_TOKEN": TOKEN,
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        plan = tmp_path / "plan.md"
        for text in ("real plan", "real plan, again"):
            plan.write_text(text)
            assert main(["comment", "--provider", "gitea", "--file", str(plan)]) == 0
        assert planted["body"] == "<!-- syncd:plan -->\nall fine"
        [ours] = [c for c in host.comments if c["author"] == "gitea-actions"]
        assert ours["author_id"] == -2 and ours["body"].endswith("real plan, again\n")
