"""A git host's REST API, as `syncd comment` uses it: GitHub, Gitea/Forgejo and GitLab.

The token goes only to the API URL given: a redirect is never followed (a 3xx answer is an error
naming where it pointed), a proxy from the environment is used for https only (a CONNECT tunnel
never sees the header), each answer is read up to `MAX_ANSWER_BYTES`, and all requests of one
client share `DEADLINE` (a host that answers a byte at a time cannot hold the job). No error
quotes the token: the host's own message is cut short, stripped of control characters and
scrubbed of it.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode, urlsplit

from syncd import __version__
from syncd.cli.client import NoRedirect
from syncd.errors import GitHostError, GitHostSettingsError, GitHostUnreachable
from syncd.taint import printable

TIMEOUT = 30.0  # each connect and read
DEADLINE = 300.0  # every request of one client, together
_CHUNK = 64 * 1024
MAX_ANSWER_BYTES = 8 * 1024 * 1024
MAX_DETAIL_CHARS = 300
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


class Provider(StrEnum):
    GITHUB = "github"
    GITEA = "gitea"  # Forgejo too: the same API
    GITLAB = "gitlab"


def _opener() -> urllib.request.OpenerDirector:
    https_only = {k: v for k, v in urllib.request.getproxies().items() if k == "https"}
    return urllib.request.build_opener(NoRedirect, urllib.request.ProxyHandler(https_only))


def check_api_url(url: str) -> str:
    """`url` without its trailing slash, if it is an http(s) URL with a host and nothing that
    would carry a credential or change the request (user info, query, fragment)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise GitHostSettingsError("the API URL is not a valid URL") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise GitHostSettingsError(
            f"the API URL must be https://host/... (or http://), not {_shown(url)!r}"
        )
    if "@" in parts.netloc:
        raise GitHostSettingsError("the API URL holds a user or password; give the token apart")
    if parts.query or parts.fragment or _CONTROL.search(url):
        raise GitHostSettingsError(f"the API URL {_shown(url)!r} holds a query or fragment")
    if not url.isascii() or any(c.isspace() for c in url):
        raise GitHostSettingsError(
            f"the API URL {_shown(url)!r} holds spaces or non-ASCII characters: give the host "
            "in punycode (xn--…) and the path percent-encoded"
        )
    return url.rstrip("/")


def check_token(token: str, name: str) -> str:
    """`token` if it can go in a header as it is: printable ASCII without spaces. The error
    names the variable, never the value (http.client's own error would quote it)."""
    if not token.isascii() or not token.isprintable() or any(c.isspace() for c in token):
        raise GitHostSettingsError(
            f"the token in {name} holds spaces, controls or non-ASCII characters; no API token "
            "does: set the token alone"
        )
    return token


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _shown(text: str) -> str:
    return printable(text.rsplit("@", maxsplit=1)[-1][:200])


@dataclass(frozen=True)
class Answer:
    data: Any
    headers: Mapping[str, str]


class GitHostClient:
    """Requests to one API base URL with one token."""

    def __init__(self, provider: Provider, api_url: str, token: str, token_name: str) -> None:
        self.provider = provider
        self.api_url = check_api_url(api_url)
        parts = urlsplit(self.api_url)
        self.host = parts.netloc
        # the token would cross the network readable by anyone on the way
        self.plain_http = parts.scheme == "http" and not _loopback(parts.hostname or "")
        self._token = check_token(token, token_name)
        self.token_name = token_name  # the variable it came from, for the hints
        self._open = _opener().open
        self._deadline = time.monotonic() + DEADLINE

    def _headers(self) -> dict[str, str]:
        headers = {"User-Agent": f"syncd/{__version__}", "Accept": "application/json"}
        match self.provider:
            case Provider.GITHUB:
                headers["Authorization"] = f"Bearer {self._token}"
                headers["Accept"] = "application/vnd.github+json"
                headers["X-GitHub-Api-Version"] = "2022-11-28"
            case Provider.GITEA:
                headers["Authorization"] = f"token {self._token}"
            case Provider.GITLAB:
                headers["PRIVATE-TOKEN"] = self._token
        return headers

    def request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        query: Mapping[str, str | int] | None = None,
    ) -> Answer:
        url = self.api_url + path + (f"?{urlencode(query)}" if query else "")
        data = json.dumps(body).encode() if body is not None else None
        headers = self._headers()
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        what = f"{method} {path}"
        try:
            with self._open(request, timeout=self._timeout(what)) as answer:
                raw = self._read(answer, what)
                answer_headers = {k.lower(): v for k, v in answer.headers.items()}
        except urllib.error.HTTPError as err:
            raise self._refused(what, err) from None
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise GitHostUnreachable(
                f"cannot reach {self.provider} at {self.api_url} ({what}): {self._scrub(reason)}"
            ) from None
        except (http.client.HTTPException, ValueError) as err:
            # a status line or header that is not HTTP, an answer cut short; from None and no
            # message: http.client's may quote a header sent (the token)
            raise GitHostError(
                f"{self.host} answered {what} with something that is not HTTP "
                f"({type(err).__name__})"
            ) from None
        try:
            parsed = json.loads(raw) if raw.strip() else None
        except ValueError:
            raise GitHostError(f"{self.host} answered {what} with something not JSON") from None
        return Answer(parsed, answer_headers)

    def _timeout(self, what: str) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise GitHostUnreachable(
                f"{self.host} took over {DEADLINE:.0f} s for syncd's requests; gave up at {what}"
            )
        return min(TIMEOUT, left)

    def _read(self, answer: Any, what: str) -> bytes:
        """The answer's body, up to `MAX_ANSWER_BYTES`, within the deadline."""
        chunks: list[bytes] = []
        size = 0
        while chunk := answer.read1(_CHUNK):
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                raise GitHostError(
                    f"{self.host} answered {what} with over {MAX_ANSWER_BYTES} bytes"
                )
            chunks.append(chunk)
            self._timeout(what)
        return b"".join(chunks)

    def _refused(self, what: str, err: urllib.error.HTTPError) -> GitHostError:
        code = err.code
        if 300 <= code < 400:
            location = urlsplit(err.headers.get("Location") or "")
            where = location.hostname or "(no location)"
            return GitHostError(
                f"{self.host} answered {what} with a redirect ({code}) to {_shown(where)}; syncd "
                "does not follow it with the token: give the API's final URL with --api-url"
            )
        try:
            raw = err.read(64 * 1024)
        except OSError:
            raw = b""
        detail = self._detail(raw)
        message = f"{self.host} answered {code} to {what}" + (f": {detail}" if detail else "")
        return GitHostError(f"{message}{self._hint(code)}", code)

    def _hint(self, code: int) -> str:
        match code:
            case 401:
                return f" (the token in {self.token_name} was refused)"
            case 403:
                return (
                    f" (the token in {self.token_name} may not write comments here; GitHub: "
                    "`permissions: pull-requests: write`; a pull request from a fork gets a "
                    "read-only token)"
                )
            case 404:
                return " (no such repository or pull request, or the token cannot see it)"
        return ""

    def _detail(self, raw: bytes) -> str:
        text = raw.decode("utf-8", "replace")
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            found = parsed.get("message") or parsed.get("error") or parsed
            text = found if isinstance(found, str) else json.dumps(found)
        return self._scrub(text)[:MAX_DETAIL_CHARS]

    def _scrub(self, value: object) -> str:
        text = str(value).replace(self._token, "<redacted>") if self._token else str(value)
        return printable(" ".join(text.split()))  # a terminal escape, a bidi override: shown
