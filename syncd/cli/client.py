"""Talking to a running daemon's API (`--api URL`): one request with a bearer token.

The token is for that daemon only: a redirect is never followed (urllib would follow it, with
the `Authorization` header, to whatever host it names) but reported, and only http:// and
https:// URLs are accepted. Answers are read up to `MAX_ANSWER_BYTES`; a token file that cannot
be read is a clear error, never a traceback.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from syncd.errors import SyncdError
from syncd.taint import redact_url

MAX_ANSWER_BYTES = 32 * 1024 * 1024
TIMEOUT = 300.0


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]
    # an error answer as urllib raised it (its headers and status, never the request's token)
    error: urllib.error.HTTPError | None = field(default=None, repr=False, compare=False)

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def message(self) -> str:
        """The `{type, message}` of an error answer, or its first characters."""
        data = self.json()
        if isinstance(data, dict) and isinstance(data.get("message"), str):
            return str(data["message"])
        return self.body[:500].decode(errors="replace")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Never follow (a token must not go to the host a 3xx names): urllib then raises the 3xx
    as an `HTTPError`, answered, not followed. The git host client (`githost`) uses it too."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(NoRedirect)


def token(token_file: str | None, variable: str) -> str | None:
    """The token from `token_file`, else from the environment variable; None: neither."""
    if token_file:
        try:
            return Path(token_file).read_text().strip()
        except OSError as err:
            raise SyncdError(f"cannot read the token file {token_file}: {err.strerror}") from None
    return os.environ.get(variable) or None


def check_url(api: str) -> str:
    parts = urlsplit(api)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SyncdError(f"--api {redact_url(api)!r} is not an http:// or https:// URL")
    return api.rstrip("/")


def call(
    api: str,
    method: str,
    path: str,
    token: str | None,
    *,
    body: Any = None,
    timeout: float = TIMEOUT,
) -> Answer:
    """The daemon's answer to one request (any status); `SyncdError` when it cannot be asked
    or redirects."""
    base = check_url(api)
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    # The causes hold the answer's headers and the OS error, never the request's token.
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return Answer(response.status, _read(response), dict(response.headers))
    except urllib.error.HTTPError as err:
        if 300 <= err.code < 400:
            raise SyncdError(
                f"the daemon at {redact_url(base)} answered {err.code} (a redirect to "
                f"{redact_url(err.headers.get('Location', '?'))}); syncd does not follow it, the "
                "token is for the daemon only: give the daemon's own URL"
            ) from None
        return Answer(err.code, _read(err), dict(err.headers), err)
    except urllib.error.URLError as err:
        raise SyncdError(f"cannot reach the daemon at {redact_url(base)}: {err.reason}") from err
    except TimeoutError as err:
        raise SyncdError(f"the daemon at {redact_url(base)} did not answer in time") from err


def _read(response: Any) -> bytes:
    body: bytes = response.read(MAX_ANSWER_BYTES + 1)
    if len(body) > MAX_ANSWER_BYTES:
        raise SyncdError(f"the daemon's answer is larger than {MAX_ANSWER_BYTES} bytes")
    return body
