"""Commit statuses on GitHub, Gitea/Forgejo and GitLab, as each documents its endpoint:
GitHub `POST /repos/{owner}/{repo}/statuses/{sha}`, Gitea `POST /api/v1/repos/{owner}/{repo}/
statuses/{sha}` (both: state pending/success/failure/error, context, description, target_url),
GitLab `POST /api/v4/projects/{url-encoded path}/statuses/{sha}` (state pending/running/success/
failed, name, description, target_url). One status per revision and outcome: a routine pass
that ends as the last one did posts nothing. The token is read from its file at start and
again when the file changes, and goes only to the `--git-host-api` host."""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import assert_never
from urllib.parse import quote

from syncd import logs
from syncd.daemon.notifyconfig import CommitStatusSettings, Provider
from syncd.daemon.outbox import Delivery, Outbox
from syncd.errors import SyncdError

MAX_DESCRIPTION = 140  # GitHub's limit (GitLab's is higher)
MAX_TOKEN = 4096


class CommitState(StrEnum):
    PENDING = "pending"
    SUCCESS = "success"
    FAILURE = "failure"  # the revision's sync failed (a stage named in the description)
    ERROR = "error"  # syncd itself failed (an internal error)

    def on(self, provider: Provider) -> str:
        """The state as `provider` spells it (GitLab: running while the sync runs)."""
        match provider:
            case Provider.GITHUB | Provider.GITEA:
                return self.value
            case Provider.GITLAB:
                gitlab = {"pending": "running", "success": "success"}
                return gitlab.get(self.value, "failed")
            case _:
                assert_never(provider)


class TokenFile:
    """The token, read at start (an error if unreadable or empty) and again when the file
    changes; a later unreadable file keeps the token read before."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int, int] | None = None
        self._token = ""
        if not self._reread():
            raise SyncdError(f"--git-host-token-file {path}: cannot read a token from it")

    def _reread(self) -> bool:
        try:
            stat = os.stat(self.path)
            stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
            if stamp == self._stamp:
                return True
            token = self.path.read_text(encoding="utf-8", errors="strict")[:MAX_TOKEN].strip()
        except (OSError, UnicodeDecodeError):
            return False
        if (
            not token
            or not token.isascii()
            or any(c.isspace() or not c.isprintable() for c in token)
        ):
            return False
        self._stamp, self._token = stamp, token
        return True

    def value(self) -> str:
        if not self._reread():
            logs.get().warning("git_host_token_unreadable", file=str(self.path))
        return self._token


def _base(api: str, suffix: str) -> str:
    return api if api.endswith(suffix) else api + suffix


def delivery(
    settings: CommitStatusSettings,
    repo: str,
    token: str,
    *,
    revision: str,
    state: CommitState,
    description: str,
    context: str,
    target_url: str | None,
) -> Delivery:
    """The provider's request setting `revision`'s status."""
    sha = quote(revision, safe="")
    body: dict[str, str] = {"state": state.on(settings.provider), "description": description}
    if target_url:
        body["target_url"] = target_url
    match settings.provider:
        case Provider.GITHUB:
            owner, name = (quote(s, safe="") for s in repo.split("/", 1))
            url = f"{settings.api}/repos/{owner}/{name}/statuses/{sha}"
            headers = {
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            }
            body["context"] = context
        case Provider.GITEA:
            owner, name = (quote(s, safe="") for s in repo.split("/", 1))
            url = f"{_base(settings.api, '/api/v1')}/repos/{owner}/{name}/statuses/{sha}"
            headers = {"Authorization": f"token {token}"}
            body["context"] = context
        case Provider.GITLAB:
            project = quote(repo, safe="")
            url = f"{_base(settings.api, '/api/v4')}/projects/{project}/statuses/{sha}"
            headers = {"PRIVATE-TOKEN": token}
            body["name"] = context
        case _:
            assert_never(settings.provider)
    return Delivery(url, body, headers)


def clip(text: str, limit: int = MAX_DESCRIPTION) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class CommitStatuses:
    """What was last posted (revision, state, stage), so that the same outcome is not posted
    again by every drift pass; the posts themselves go through `outbox`."""

    settings: CommitStatusSettings
    repo: str  # owner/name (GitLab: the project's path)
    token: TokenFile
    context: str
    target_url: str | None
    outbox: Outbox
    _last: tuple[str, CommitState, str | None] | None = None

    def started(self, revision: str) -> None:
        if self._last is not None and self._last[0] == revision:
            return  # a routine pass over a revision already reported
        self._post(revision, CommitState.PENDING, None, "syncing")

    def ended(self, revision: str, state: CommitState, stage: str | None, description: str) -> None:
        if self._last == (revision, state, stage):
            return
        self._post(revision, state, stage, description)

    def _post(self, revision: str, state: CommitState, stage: str | None, description: str) -> None:
        self._last = (revision, state, stage)
        text = clip(description)

        def make() -> Delivery:  # built when sent: the token as the file says then
            return delivery(
                self.settings,
                self.repo,
                self.token.value(),
                revision=revision,
                state=state,
                description=text,
                context=self.context,
                target_url=self.target_url,
            )

        self.outbox.put(make)
