"""Resolving an image reference to its digest through Docker's distribution API
(`GET /distribution/{name}/json`): the engine asks the registry, nothing is pulled.

It speaks to docker-py's `APIClient` without importing docker (only `engine.docker` does), as
`engine.networks` does; `DockerEngine` translates docker-py's errors at its boundary. The
credentials go only to the image's own registry host (`check_pull_auth`), and never the ones
of syncd's user: without credentials an empty `X-Registry-Auth` is sent, where docker-py would
fill in the Docker config's (`docker login`, credential helpers).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from typing import Any

import requests

from syncd.engine.base import check_pull_auth
from syncd.errors import EngineError

DIGEST = re.compile(r"sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}")


def _auth_header(auth: Mapping[str, str] | None) -> str:
    """docker-py's `auth.encode_header`: URL-safe base64 of the JSON."""
    return base64.urlsafe_b64encode(json.dumps(dict(auth or {})).encode()).decode()


def digest(api: Any, reference: str, auth: Mapping[str, str] | None, timeout: float) -> str:
    """The digest the registry gives for `reference`; `EngineError` when it has none (no such
    image or tag, refused credentials), or no answer comes within `timeout` seconds."""
    check_pull_auth(reference, auth)
    url = api._url("/distribution/{0}/json", reference)
    headers = {"X-Registry-Auth": _auth_header(auth)}
    try:
        answer = api._result(api._get(url, headers=headers, timeout=timeout), True)
    except requests.Timeout as err:
        raise EngineError(f"no answer from the engine within {timeout:g} s") from err
    found = (
        ((answer or {}).get("Descriptor") or {}).get("digest") if isinstance(answer, dict) else None
    )
    if not isinstance(found, str) or not DIGEST.fullmatch(found):
        raise EngineError("the engine's answer names no digest")
    return found
