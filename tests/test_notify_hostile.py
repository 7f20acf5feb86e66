"""A hostile webhook receiver or git host cannot hold a notification worker: one post has a
deadline from connect to the last byte, whatever the host drips. Real sockets on 127.0.0.1."""

from __future__ import annotations

import contextlib
import io
import socket
import threading
import time
from pathlib import Path

import pytest
import structlog.testing

from syncd.cli.main import main
from syncd.daemon import outbox
from syncd.daemon.notifyconfig import NotifySettings
from syncd.daemon.outbox import Delivery, post
from syncd.errors import DeliveryFailed
from tests.test_notify import _notified, _stop


def _read_request(conn: socket.socket) -> None:
    """The whole request (headers, then Content-Length bytes): a socket closed with unread
    bytes resets the connection, and the client may lose the answer."""
    data = b""
    while b"\r\n\r\n" not in data and (chunk := conn.recv(65536)):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":")[1]) for line in head.lower().split(b"\r\n")
         if line.startswith(b"content-length:")),
        0,
    )  # fmt: skip
    while len(body) < length and (chunk := conn.recv(65536)):
        body += chunk


class Drip:
    """Answers every request with a 200 status line, then one header line at a time, `lines`
    of them `pause` seconds apart (a stop event ends it), then the end of the headers."""

    def __init__(self, lines: int, pause: float) -> None:
        self.lines, self.pause = lines, pause
        self.stop = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            try:
                _read_request(conn)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n")
                for n in range(self.lines):
                    if self.stop.wait(self.pause):
                        return
                    conn.sendall(b"X-Drip-%d: x\r\n" % n)
                conn.sendall(b"\r\n")
            except OSError:
                return  # the client gave up

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


def test_a_host_dripping_its_answer_cannot_hold_a_post_past_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 80 header lines 0.05 s apart: each read is quick (under TIMEOUT), the whole is not
    drip = Drip(lines=80, pause=0.05)
    monkeypatch.setattr(outbox, "DEADLINE", 0.5, raising=False)
    outcome: list[object] = []

    def send() -> None:
        try:
            outcome.append(post(Delivery(drip.url, {"event": "sync_succeeded"})))
        except DeliveryFailed as err:
            outcome.append(err)

    worker = threading.Thread(target=send, daemon=True)
    worker.start()
    worker.join(60)  # a bound for the test only: the drip itself ends after 4 s
    drip.close()
    [failed] = outcome
    assert isinstance(failed, DeliveryFailed), failed  # not the 200 the drip ends with
    assert failed.retry  # the next attempt may find a better host
    assert "took over" in str(failed) and "127.0.0.1" in str(failed)


def test_a_post_within_the_deadline_is_delivered() -> None:
    drip = Drip(lines=3, pause=0.01)
    try:
        assert post(Delivery(drip.url, {"event": "sync_succeeded"})) == 200
    finally:
        drip.close()


def test_the_deadline_watchdog_ends_with_the_post() -> None:
    drip = Drip(lines=0, pause=0)
    before = {t.ident for t in threading.enumerate()}
    try:
        for _ in range(5):
            assert post(Delivery(drip.url, {})) == 200
    finally:
        drip.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # no watchdog thread outlives its post
        left = [
            t
            for t in threading.enumerate()
            if t.ident not in before and isinstance(t, threading.Timer)
        ]
        if not left:
            break
        time.sleep(0.05)
    assert not left


# -- credentials in the settings -----------------------------------------------------------------

PASSWORD = "hook-password-5150"


def _print_config(tmp_path: Path, *args: str) -> tuple[int, str]:
    err = io.StringIO()
    argv = ["run", "--repo", str(tmp_path), "--data-dir", str(tmp_path / "d"), "--print-config"]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main([*argv, *args])
    return code, err.getvalue()


@pytest.mark.parametrize(
    "url",
    [f"https://u:{PASSWORD}@hooks.example.com/x", f"https://hooks.example.com/x?key={PASSWORD}"],
)
def test_a_webhook_password_given_as_a_flag_is_warned_of_never_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    code, err = _print_config(tmp_path, "--notify-webhook", url)
    assert code == 0
    assert "notify_webhook_secret_in_arguments" in err and "SYNCD_NOTIFY_WEBHOOK" in err
    assert PASSWORD not in err
    monkeypatch.setenv("SYNCD_NOTIFY_WEBHOOK", url)  # the environment is no process list
    code, err = _print_config(tmp_path)
    assert code == 0 and "notify_webhook_secret_in_arguments" not in err


def test_a_webhook_password_over_plain_http_to_another_host_is_warned_of(tmp_path: Path) -> None:
    plain = f"http://u:{PASSWORD}@hooks.example.com/x"
    settings = NotifySettings(None, (plain, "http://u:p@127.0.0.1:9/x"))
    with structlog.testing.capture_logs() as events:
        made, threads = _notified(tmp_path, settings)
    _stop(made, threads)
    warned = [e for e in events if e["event"] == "notify_webhook_password_not_https"]
    assert [e["host"] for e in warned] == ["hooks.example.com"]  # loopback stays on the host
    assert PASSWORD not in repr(events)
