"""A hostile webhook receiver or git host cannot hold a notification worker: one post has a
deadline from connect to the last byte, whatever the host drips. Real sockets on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from syncd.daemon import outbox
from syncd.daemon.outbox import Delivery, post
from syncd.errors import DeliveryFailed


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
                conn.recv(65536)
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
    try:
        with pytest.raises(DeliveryFailed) as caught:
            post(Delivery(drip.url, {"event": "sync_succeeded"}, {"Authorization": "token t"}))
    finally:
        drip.close()
    assert caught.value.retry  # the next attempt may find a better host
    assert "took over" in str(caught.value) and "127.0.0.1" in str(caught.value)


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
