"""Webhook verification for GitHub, Gitea/Forgejo and GitLab (pure), and URL redaction."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import pytest

from syncd.errors import WebhookRejected
from syncd.source.repository import Credentials, redact_url
from syncd.source.webhooks import Provider, pushed_branch, verify

SECRET = b"s3cret"
BODY = b'{"ref": "refs/heads/main"}'
DIGEST = hmac.new(SECRET, BODY, hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    ("headers", "provider"),
    [
        ({"X-Hub-Signature-256": f"sha256={DIGEST}"}, Provider.GITHUB),
        ({"X-Gitea-Signature": DIGEST}, Provider.GITEA),
        ({"X-Forgejo-Signature": DIGEST}, Provider.GITEA),
        ({"X-Gitlab-Token": "s3cret"}, Provider.GITLAB),
    ],
)
def test_genuine_hooks_are_recognised(headers: dict[str, str], provider: Provider) -> None:
    assert verify(headers, BODY, SECRET) is provider


@pytest.mark.parametrize(
    ("headers", "secret", "reason"),
    [
        ({}, SECRET, "no signature"),
        ({"X-Hub-Signature-256": f"sha256={DIGEST}"}, b"other", "bad X-Hub-Signature-256"),
        ({"X-Hub-Signature-256": DIGEST}, SECRET, "bad X-Hub-Signature-256"),
        ({"X-Gitea-Signature": "00" * 32}, SECRET, "bad x-gitea-signature"),
        ({"X-Gitlab-Token": "s3cre"}, SECRET, "bad X-Gitlab-Token"),
        ({"X-Gitlab-Token": "s3cret"}, None, "no webhook secret is configured"),
    ],
)
def test_forged_or_unsigned_hooks_are_rejected(
    headers: dict[str, str], secret: bytes | None, reason: str
) -> None:
    with pytest.raises(WebhookRejected, match=reason):
        verify(headers, BODY, secret)


def test_a_signature_over_another_body_is_rejected() -> None:
    with pytest.raises(WebhookRejected):
        verify({"X-Hub-Signature-256": f"sha256={DIGEST}"}, BODY + b" ", SECRET)


def test_the_pushed_branch_is_read_from_the_payload() -> None:
    assert pushed_branch(BODY) == "main"
    assert pushed_branch(b'{"ref": "refs/tags/v1"}') is None
    assert pushed_branch(b"not json") is None


def test_credentials_in_urls_never_reach_messages() -> None:
    text = "fatal: could not read from https://deploy:t0ken@git.example.com/org/repo.git"
    assert redact_url(text) == (
        "fatal: could not read from https://<redacted>@git.example.com/org/repo.git"
    )


def test_a_token_reaches_git_only_through_its_environment(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("t0ken-value\n")
    env = Credentials(token_file=token).environment()
    keys = {env[k]: k.replace("KEY", "VALUE") for k in env if k.startswith("GIT_CONFIG_KEY_")}
    assert len(keys) == int(env["GIT_CONFIG_COUNT"])
    basic = env[keys["http.extraHeader"]].removeprefix("Authorization: Basic ")
    assert base64.b64decode(basic) == b"x-access-token:t0ken-value"
    key = tmp_path / "id_ed25519"
    assert f"-i {key}" in Credentials(ssh_key_file=key).environment()["GIT_SSH_COMMAND"]
