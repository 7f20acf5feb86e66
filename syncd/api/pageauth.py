"""Who may see the status page: the same tokens as `/v2`. A browser cannot send a bearer token
with a page load or an EventSource, so `/signin` takes the token once and answers with a
session cookie: a random session id and an HMAC of it keyed by the token (never the token
itself), `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's page sends it) and
`Secure` behind TLS. Sessions live in this process: sign-out ends one for good, a restart or a
changed token ends all of them, each ends after 7 days, and at most `MAX_SESSIONS` are kept
(the oldest goes first). The cookie opens the page's own routes only; `/v2` wants the token."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict, deque
from urllib.parse import parse_qs, urlsplit

from fastapi import Request

from syncd.api.auth import token_matches

COOKIE = "syncd_session"
MAX_SIGNIN_BYTES = 4096
MAX_SESSIONS = 1000
SESSION_SECONDS = 7 * 86400  # a session's life, and its cookie's
_PURPOSE = b"syncd status page session v2:"
# Guessing the token through the form: after this many wrong tokens from one client address
# within the window, its sign-ins are refused (429) until the oldest is older than the window.
# Addresses are tracked for at most `MAX_CLIENTS` clients (the least recent forgotten first).
MAX_FAILURES, FAILURE_WINDOW, MAX_CLIENTS = 10, 60.0, 4096


def session_value(token: str, session: str) -> str:
    """The cookie of one session: its id and the id's HMAC keyed by the token."""
    mac = hmac.new(token.encode(), _PURPOSE + session.encode(), hashlib.sha256).hexdigest()
    return f"{session}.{mac}"


class PageAuth:
    """The page's check: open when no read token is configured."""

    def __init__(self, read_token: str | None, admin_token: str | None) -> None:
        self.tokens = [t for t in (read_token, admin_token) if t] if read_token else []
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._sessions: OrderedDict[str, float] = OrderedDict()  # id -> began (monotonic)
        self._lock = threading.Lock()

    def throttled(self, client: str, now: float) -> float:
        """Seconds until `client` may try a sign-in again (0: now)."""
        with self._lock:
            failures = self._failures.get(client)
            if failures is None or len(failures) < MAX_FAILURES:
                return 0.0
            return max(0.0, failures[0] + FAILURE_WINDOW - now)

    def failed(self, client: str, now: float) -> None:
        with self._lock:
            failures = self._failures.pop(client, None) or deque(maxlen=MAX_FAILURES)
            failures.append(now)
            self._failures[client] = failures  # the most recent last
            while len(self._failures) > MAX_CLIENTS:
                self._failures.popitem(last=False)

    @property
    def open(self) -> bool:
        return not self.tokens

    def allowed(self, request: Request, now: float) -> bool:
        if self.open:
            return True
        if any(token_matches(request, token) for token in self.tokens):
            return True
        return self._session_of(request.cookies.get(COOKIE, ""), now) is not None

    def _session_of(self, cookie: str, now: float) -> str | None:
        """The live session a cookie names with a valid HMAC, or None."""
        session = cookie.partition(".")[0]
        with self._lock:
            began = self._sessions.get(session)
            if began is None or now - began > SESSION_SECONDS:
                return None
        valid = any(
            hmac.compare_digest(cookie.encode(), session_value(t, session).encode())
            for t in self.tokens
        )
        return session if valid else None

    def session_for(self, body: bytes, now: float) -> str | None:
        """A new session's cookie for a sign-in form's token, or None when it is no valid token."""
        if len(body) > MAX_SIGNIN_BYTES:
            return None
        try:
            fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=4)
        except ValueError:  # more fields than a sign-in form has
            return None
        given = (fields.get("token") or [""])[0].strip()
        for token in self.tokens:
            if given and hmac.compare_digest(given.encode(), token.encode()):
                session = secrets.token_hex(16)
                with self._lock:
                    self._sessions[session] = now
                    while len(self._sessions) > MAX_SESSIONS:
                        self._sessions.popitem(last=False)
                return session_value(token, session)
        return None

    def sign_out(self, cookie: str, now: float) -> None:
        """Ends the session a cookie names (a stolen copy of it opens nothing any more)."""
        session = self._session_of(cookie, now)
        if session is not None:
            with self._lock:
                self._sessions.pop(session, None)


def same_origin(request: Request) -> bool:
    """A form post from this page, or from no browser at all (no `Origin`): never another site's
    page posting into this one (a sign-out, or a sign-in with someone else's token)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == request.headers.get("host", "").lower()


def secure(request: Request) -> bool:
    """Whether the browser reached the page over TLS (directly or through a proxy that says so)."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"
