"""`syncd run`'s notification settings: commit statuses on a git host (`--commit-status`,
`--git-host-api`, `--git-host-repo`, `--git-host-token-file`), webhook events
(`--notify-webhook`, repeatable) and the daemon's public URL that links back to its status
(`--public-url`). Checked at start: a bad URL or an unreadable token file stops the daemon
before it syncs anything."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from syncd import logs
from syncd.daemon.outbox import host_of
from syncd.errors import SyncdError
from syncd.layers import Layers, Origin
from syncd.source.commits import valid_repo_path

NAMES = {
    "commit_status",
    "git_host_api",
    "git_host_repo",
    "git_host_token_file",
    "notify_webhook",
    "notify_webhook_secret_file",
    "notify_webhook_secret",
    "public_url",
}
MAX_WEBHOOKS = 10
MAX_URL = 2000
STATUS_PATH = "/v2/syncd/daemon/status"
_WILDCARDS = {"", "0.0.0.0", "::"}


class Provider(StrEnum):
    GITHUB = "github"
    GITEA = "gitea"
    GITLAB = "gitlab"


@dataclass(frozen=True)
class CommitStatusSettings:
    provider: Provider
    api: str  # the git host's API base URL: the token goes there and nowhere else
    token_file: Path
    repo: str | None = None  # owner/name; None: read from the repository's remote URL


@dataclass(frozen=True)
class NotifySettings:
    commit_status: CommitStatusSettings | None = None
    webhooks: tuple[str, ...] = ()
    public_url: str | None = None  # None: no link (the daemon listens on every address)
    webhook_secret: str | None = field(default=None, repr=False)  # signs each event

    @property
    def status_url(self) -> str | None:
        return f"{self.public_url}{STATUS_PATH}" if self.public_url else None

    def __str__(self) -> str:
        """As `--print-config` shows it: hosts only (a webhook's query may hold a secret)."""
        parts = []
        if self.commit_status is not None:
            cs = self.commit_status
            parts.append(
                f"commit-status {cs.provider} at {host_of(cs.api)} "
                f"(repo {cs.repo or 'from the remote URL'}, token file {cs.token_file})"
            )
        if self.webhooks:
            parts.append("webhooks to " + ", ".join(host_of(u) for u in self.webhooks))
            parts.append("signed" if self.webhook_secret else "unsigned")
        parts.append(f"status link {self.status_url or 'none'}")
        return "; ".join(parts)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--commit-status",
        choices=[p.value for p in Provider],
        help="set each synced commit's status on this git host (needs --git-host-api and "
        "--git-host-token-file)",
    )
    parser.add_argument(
        "--git-host-api",
        help="the git host's API URL, e.g. https://api.github.com, https://gitea.example.com, "
        "https://gitlab.example.com",
    )
    parser.add_argument(
        "--git-host-repo", help="OWNER/NAME on the git host (default: from the remote URL)"
    )
    parser.add_argument(
        "--git-host-token-file", help="file holding the git host's API token (re-read on change)"
    )
    parser.add_argument(
        "--notify-webhook",
        action="append",
        metavar="URL",
        help="POST a JSON event for each sync result to URL; repeatable",
    )
    parser.add_argument(
        "--notify-webhook-secret-file",
        help="sign each event with this file's secret: X-Syncd-Signature-256: sha256=HMAC "
        "(or SYNCD_NOTIFY_WEBHOOK_SECRET)",
    )
    parser.add_argument(
        "--public-url",
        help="the daemon's URL as git host users reach it, for the status link "
        "(default: http://LISTEN unless it listens on every address)",
    )


def _url(name: str, text: str, *, userinfo: bool = False, query: bool = False) -> str:
    flag = "--" + name.replace("_", "-")
    try:
        parts = urlsplit(text)
    except ValueError:
        raise SyncdError(f"{flag} is not a URL") from None
    shown = host_of(text) if parts.hostname else "it"
    if len(text) > MAX_URL or any(c.isspace() or not c.isprintable() for c in text):
        raise SyncdError(f"{flag}: the URL for {shown} is too long or holds spaces or controls")
    if not text.isascii():  # http.client sends ASCII only: every post would fail
        raise SyncdError(
            f"{flag}: the URL for {shown} holds non-ASCII characters: give the host in punycode "
            "(xn--…) and the path percent-encoded"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SyncdError(f"{flag} must be an http:// or https:// URL with a host")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise SyncdError(f"{flag}: the URL for {shown} has a bad port") from None
    if parts.fragment or (parts.query and not query):
        raise SyncdError(f"{flag}: the URL for {shown} may not have a query or fragment")
    if (parts.username is not None) and not userinfo:
        raise SyncdError(f"{flag}: the URL for {shown} may not hold a user or password")
    return text.rstrip("/") if not query else text


def _webhooks(layers: Layers, args: argparse.Namespace) -> tuple[str, ...]:
    """Flags as given (a URL may hold a comma); SYNCD_NOTIFY_WEBHOOK and the config file:
    whitespace-separated, or a YAML list."""
    given = getattr(args, "notify_webhook", None)
    if given:
        layers.origins["notify_webhook"] = Origin.FLAG
        urls = list(given)
    elif env := layers.env.get("SYNCD_NOTIFY_WEBHOOK"):
        layers.origins["notify_webhook"] = Origin.ENV
        urls = env.split()
    elif "notify_webhook" in layers.file:
        layers.origins["notify_webhook"] = Origin.FILE
        value = layers.file["notify_webhook"]
        urls = [str(v) for v in value] if isinstance(value, list) else str(value).split()
    else:
        return ()
    if len(urls) > MAX_WEBHOOKS:
        raise SyncdError(f"--notify-webhook: at most {MAX_WEBHOOKS} webhooks")
    checked = tuple(_url("notify_webhook", u, userinfo=True, query=True) for u in urls)
    if layers.origins["notify_webhook"] is Origin.FLAG:
        for url in checked:
            parts = urlsplit(url)
            if parts.username is not None or parts.query:  # every local user reads argv
                logs.get().warning(
                    "notify_webhook_secret_in_arguments",
                    host=host_of(url),
                    hint="a password or query in --notify-webhook shows in the process list: "
                    "give the URL in SYNCD_NOTIFY_WEBHOOK or the config file",
                )
    return checked


def _public_url(layers: Layers, host: str, port: int) -> str | None:
    given = layers.get("public_url", "")
    if given:
        return _url("public_url", given)
    if host in _WILDCARDS:
        return None
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def settings(
    layers: Layers,
    args: argparse.Namespace,
    host: str,
    port: int,
    secret: Callable[[Layers, str], str | None],
) -> NotifySettings:
    provider = layers.get("commit_status", "")
    api = layers.get("git_host_api", "")
    repo = layers.get("git_host_repo", "")
    token_file = layers.get("git_host_token_file", "")
    commit_status = None
    if provider:
        try:
            kind = Provider(provider)
        except ValueError:
            known = ", ".join(p.value for p in Provider)
            raise SyncdError(f"--commit-status {provider!r}: one of {known}") from None
        if not api or not token_file:
            raise SyncdError("--commit-status needs --git-host-api and --git-host-token-file")
        if repo and not valid_repo_path(repo):
            raise SyncdError(f"--git-host-repo {repo!r} is not OWNER/NAME")
        commit_status = CommitStatusSettings(
            kind, _url("git_host_api", api), Path(token_file), repo or None
        )
    elif api or repo or token_file:
        raise SyncdError(
            "--git-host-api, --git-host-repo and --git-host-token-file need "
            "--commit-status github|gitea|gitlab"
        )
    webhooks = _webhooks(layers, args)
    webhook_secret = secret(layers, "notify_webhook_secret")
    if webhook_secret and not webhooks:
        raise SyncdError("--notify-webhook-secret-file needs --notify-webhook")
    notify = NotifySettings(
        commit_status, webhooks, _public_url(layers, host, port), webhook_secret
    )
    given = [layers.origins.get(n, Origin.DEFAULT) for n in sorted(NAMES)]
    layers.origins["notify"] = min(given, key=list(Origin).index)  # as --print-config shows it
    return notify
