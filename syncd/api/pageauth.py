"""Who may see the status page: the same tokens as `/v2`. A browser cannot send a bearer token
with a page load or an EventSource, so `/signin` takes the token once and answers with a
session cookie: an HMAC of the token (never the token itself), `HttpOnly` (no script reads
it), `SameSite=Strict` (no other site's page sends it) and `Secure` behind TLS. A changed token
ends every session. The cookie opens the page's own routes only; `/v2` still wants the token."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import deque
from urllib.parse import parse_qs, urlsplit

from fastapi import Request

from syncd.api.auth import token_matches

COOKIE = "syncd_session"
MAX_SIGNIN_BYTES = 4096
_PURPOSE = b"syncd status page session v1"
# Guessing the token through the form: after this many wrong tokens within the window, every
# sign-in is refused (429) until the oldest of them is older than the window.
MAX_FAILURES, FAILURE_WINDOW = 10, 60.0


def session_value(token: str) -> str:
    return hmac.new(token.encode(), _PURPOSE, hashlib.sha256).hexdigest()


class PageAuth:
    """The page's check: open when no read token is configured."""

    def __init__(self, read_token: str | None, admin_token: str | None) -> None:
        self.tokens = [t for t in (read_token, admin_token) if t] if read_token else []
        self._failures: deque[float] = deque(maxlen=MAX_FAILURES)
        self._lock = threading.Lock()

    def throttled(self, now: float) -> float:
        """Seconds until a sign-in may be tried again (0: now)."""
        with self._lock:
            if len(self._failures) < MAX_FAILURES:
                return 0.0
            return max(0.0, self._failures[0] + FAILURE_WINDOW - now)

    def failed(self, now: float) -> None:
        with self._lock:
            self._failures.append(now)

    @property
    def open(self) -> bool:
        return not self.tokens

    def allowed(self, request: Request) -> bool:
        if self.open:
            return True
        if any(token_matches(request, token) for token in self.tokens):
            return True
        carried = request.cookies.get(COOKIE, "")
        return any(
            hmac.compare_digest(carried.encode(), session_value(t).encode()) for t in self.tokens
        )

    def session_for(self, body: bytes) -> str | None:
        """The cookie value for a sign-in form's token, or None when it is no valid token."""
        if len(body) > MAX_SIGNIN_BYTES:
            return None
        try:
            fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=4)
        except ValueError:  # more fields than a sign-in form has
            return None
        given = (fields.get("token") or [""])[0].strip()
        for token in self.tokens:
            if given and hmac.compare_digest(given.encode(), token.encode()):
                return session_value(token)
        return None


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
