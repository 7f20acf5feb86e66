"""Notifications leave the daemon through an `Outbox`: a bounded queue and one worker thread per
destination, so a slow or dead git host or webhook never delays a sync (the sync only puts an
item in the queue; when the queue is full, the oldest item is dropped and counted). The worker
posts each item, retrying what may succeed later with exponential backoff, and gives up after
`ATTEMPTS`. `post` is the one HTTP call: no redirect is followed (a token must not go to
another host), the answer is read to a bound, within `DEADLINE` from connect to the last byte
(a host answering a byte at a time cannot hold the destination's worker), and only the host is
ever logged."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import http.client
import json
import socket
import ssl
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from prometheus_client import CollectorRegistry, Counter

from syncd import logs
from syncd.errors import DeliveryFailed

CAPACITY = 100  # items waiting per destination; then the oldest is dropped
ATTEMPTS = 5  # posts of one item at most
FIRST_DELAY = 1.0  # seconds before the first retry, doubled each time
MAX_DELAY = 60.0
TIMEOUT = 10.0  # seconds per connect and per read
DEADLINE = 30.0  # seconds for one post, connect to last byte
MAX_ANSWER = 64 * 1024  # bytes of an answer read (and thrown away)
SIGNATURE = "X-Syncd-Signature-256"


def host_of(url: str) -> str:
    """What a log may show of `url`: its host and port, never userinfo, path or query."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        return f"{host}:{parts.port}" if parts.port else host
    except ValueError:  # a bad port or IPv6 address: checked at start, named here only
        return "?"


@dataclass(frozen=True)
class Delivery:
    """One POST: where, what, and the headers (a token among them) for that host only."""

    url: str
    body: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    sign: bytes | None = field(default=None, repr=False)  # HMAC-SHA256 key for the body


def post(delivery: Delivery) -> int:
    """POST `delivery` as JSON; the answer's status. Raises `DeliveryFailed`."""
    parts = urlsplit(delivery.url)
    host = host_of(delivery.url)
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": "syncd",
        **delivery.headers,
    }
    if parts.username is not None:  # userinfo in a webhook URL: HTTP basic auth
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            parts.hostname or "", parts.port, timeout=TIMEOUT, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=TIMEOUT)
    body = json.dumps(delivery.body, ensure_ascii=True).encode()
    if delivery.sign is not None:  # as GitHub signs its webhooks: receivers reuse their check
        digest = hmac.new(delivery.sign, body, hashlib.sha256).hexdigest()
        headers[SIGNATURE] = f"sha256={digest}"
    expired = threading.Event()
    watchdog = threading.Timer(DEADLINE, _cut, (connection, expired))
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.connect()  # bounded by TIMEOUT; the watchdog cuts what follows (TLS too)
        if expired.is_set():
            raise TimeoutError
        connection.request("POST", target, body=body, headers=headers)
        answer = connection.getresponse()
        answer.read(MAX_ANSWER)
        status = answer.status
    except (OSError, http.client.HTTPException, ValueError) as err:
        # from None: the cause may quote the request line (a query's secret) or a header sent
        if expired.is_set():
            raise DeliveryFailed(f"{host} took over {DEADLINE:g} s", retry=True) from None
        raise DeliveryFailed(f"{host} did not answer ({type(err).__name__})", retry=True) from None
    finally:
        watchdog.cancel()
        connection.close()
    if expired.is_set():  # cut short: what was read may end anywhere (EOF ends the headers)
        raise DeliveryFailed(f"{host} took over {DEADLINE:g} s", retry=True)
    if 200 <= status < 300:
        return status
    if 300 <= status < 400:
        raise DeliveryFailed(f"{host} answered {status}: redirects are not followed", retry=False)
    raise DeliveryFailed(f"{host} answered {status}", retry=status == 429 or status >= 500)


def _cut(connection: http.client.HTTPConnection, expired: threading.Event) -> None:
    """End a post past its deadline: a blocked read wakes up at once (EOF) and fails."""
    expired.set()
    sock = connection.sock
    if sock is not None:  # the socket's own shutdown: an SSL socket's would unwrap it
        with contextlib.suppress(OSError):  # closed meanwhile
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


class OutboxMetrics:
    """Counted per kind of destination (`commit_status`, `webhook`), never per URL."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.sent = Counter(
            "syncd_notifications_sent", "notifications delivered", ["kind"], registry=registry
        )
        self.failed = Counter(
            "syncd_notifications_failed",
            "notifications given up after their retries, or refused",
            ["kind"],
            registry=registry,
        )
        self.dropped = Counter(
            "syncd_notifications_dropped",
            "notifications dropped unsent because the queue was full",
            ["kind"],
            registry=registry,
        )


class Outbox:
    """A queue of deliveries to one destination and the thread that posts them, in order."""

    def __init__(
        self,
        kind: str,
        host: str,
        metrics: OutboxMetrics,
        stop: threading.Event,
        *,
        send: Callable[[Delivery], int] = post,
        capacity: int = CAPACITY,
        first_delay: float = FIRST_DELAY,
    ) -> None:
        self.kind = kind
        self.host = host  # for the log: never the URL
        self.metrics = metrics
        self.stop = stop
        self.send = send
        self.first_delay = first_delay
        self._queue: deque[Callable[[], Delivery | None]] = deque(maxlen=capacity)
        self._cond = threading.Condition()
        self.log = logs.get().bind(kind=kind, host=host)

    def put(self, make: Callable[[], Delivery | None]) -> None:
        """Queue a delivery, built when its turn comes (None: nothing to send). Never blocks."""
        with self._cond:
            if len(self._queue) == self._queue.maxlen:
                self.metrics.dropped.labels(self.kind).inc()
                self.log.warning("notification_dropped", reason="queue full")
            self._queue.append(make)  # a full deque drops its oldest item
            self._cond.notify()

    def pending(self) -> int:
        with self._cond:
            return len(self._queue)

    def _next(self) -> Callable[[], Delivery | None] | None:
        with self._cond:
            while not self._queue and not self.stop.is_set():
                self._cond.wait(1.0)
            return None if self.stop.is_set() else self._queue.popleft()

    def run(self) -> None:
        while (make := self._next()) is not None:
            try:
                delivery = make()
                if delivery is not None:
                    self._deliver(delivery)
            except Exception as err:  # a bug: this destination goes on with the next item
                self.log.error("notification_crashed", error=type(err).__name__)

    def _deliver(self, delivery: Delivery) -> None:
        delay = self.first_delay
        for attempt in range(1, ATTEMPTS + 1):
            try:
                self.send(delivery)
            except DeliveryFailed as err:
                last = not err.retry or attempt == ATTEMPTS
                self.log.warning(
                    "notification_failed", error=str(err), attempt=attempt, giving_up=last
                )
                if last:
                    self.metrics.failed.labels(self.kind).inc()
                    return
                if self.stop.wait(delay):
                    return
                delay = min(delay * 2, MAX_DELAY)
                continue
            self.metrics.sent.labels(self.kind).inc()
            return
