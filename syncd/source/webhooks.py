"""Git-host webhooks: who sent it, and is it genuine? (GitHub, Gitea/Forgejo, GitLab)

GitHub signs the body with HMAC-SHA256 (`X-Hub-Signature-256: sha256=<hex>`), Gitea and Forgejo
likewise without the prefix (`X-Gitea-Signature`, `X-Forgejo-Signature`), GitLab sends the shared
token itself (`X-Gitlab-Token`). Every comparison is constant-time. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from enum import StrEnum

from syncd.errors import WebhookMalformed, WebhookRejected


class Provider(StrEnum):
    GITHUB = "github"
    GITEA = "gitea"
    GITLAB = "gitlab"


def _hmac(secret: bytes, body: bytes) -> str:
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(headers: Mapping[str, str], body: bytes, secret: bytes | None) -> Provider:
    """The sending provider, or `WebhookRejected` saying why (never which part matched)."""
    lower = {k.lower(): v for k, v in headers.items()}
    if not secret:
        raise WebhookRejected("webhooks are off: no webhook secret is configured")
    if "x-hub-signature-256" in lower:
        expected = "sha256=" + _hmac(secret, body)
        if hmac.compare_digest(lower["x-hub-signature-256"].encode(), expected.encode()):
            return Provider.GITHUB
        raise WebhookRejected("bad X-Hub-Signature-256 signature")
    for header in ("x-gitea-signature", "x-forgejo-signature"):
        if header in lower:
            if hmac.compare_digest(lower[header].encode(), _hmac(secret, body).encode()):
                return Provider.GITEA
            raise WebhookRejected(f"bad {header} signature")
    if "x-gitlab-token" in lower:
        if hmac.compare_digest(lower["x-gitlab-token"].encode(), secret):
            return Provider.GITLAB
        raise WebhookRejected("bad X-Gitlab-Token")
    raise WebhookRejected(
        "no signature: expected X-Hub-Signature-256, X-Gitea-Signature, X-Forgejo-Signature "
        "or X-Gitlab-Token"
    )


def pushed_branch(body: bytes) -> str | None:
    """`refs/heads/main` of a push payload -> `main` (None when the payload says nothing)."""
    try:
        payload = json.loads(body)
    except RecursionError as err:  # the C parser's nesting bound: a clean error, not a crash
        raise WebhookMalformed("the payload nests too deeply to be a push event") from err
    except ValueError:
        return None
    ref = payload.get("ref") if isinstance(payload, dict) else None
    if isinstance(ref, str) and ref.startswith("refs/heads/"):
        return ref.removeprefix("refs/heads/")
    return None
