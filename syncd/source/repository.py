"""The daemon's repository: a local work tree, a local bare repo, or a remote URL (mirrored).

It answers one cheap question often — which commit is the branch at? — and fetches only when a
remote's ref moved. It drives the `git` command (GitPython's reader stays in `source`), so that
SSH keys and HTTPS tokens go to git through its environment, never through argv or logs.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shlex
import subprocess
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from syncd import datadir
from syncd.errors import SourceError
from syncd.source.commits import GIT_FORMAT, CommitInfo, parse_commit
from syncd.source.gitargs import (
    GIT_ALLOW_PROTOCOL,
    check_branch,
    check_location,
    config_environment,
    git_error,
    redirect_refused,
)
from syncd.source.reader import Snapshot, read_revision
from syncd.taint import redact_url

__all__ = ["Credentials", "RepoKind", "Repository", "redact_url"]

GIT_TIMEOUT = 60.0


class RepoKind(StrEnum):
    WORKTREE = "worktree"
    BARE = "bare"
    REMOTE = "remote"


@dataclass(frozen=True)
class Credentials:
    ssh_key_file: Path | None = None
    token_file: Path | None = None

    def environment(self) -> dict[str, str]:
        """git's environment for a remote command: its SSH command and configuration (never
        following a redirect, and the token's header when there is one)."""
        env: dict[str, str] = {}
        config: list[tuple[str, str]] = []
        if self.ssh_key_file is not None:
            env["GIT_SSH_COMMAND"] = (
                f"ssh -i {shlex.quote(str(self.ssh_key_file))} -o IdentitiesOnly=yes "
                "-o StrictHostKeyChecking=accept-new -o BatchMode=yes"
            )
        if self.token_file is not None:
            try:
                token = self.token_file.read_text().strip()
            except OSError as err:
                raise SourceError(
                    f"cannot read the token file {self.token_file}: {err.strerror}"
                ) from err
            basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
            config.append(("http.extraHeader", f"Authorization: Basic {basic}"))
        return env | config_environment(*config)


class Repository:
    def __init__(
        self,
        location: str,
        data_dir: Path,
        *,
        branch: str | None = None,
        paths: tuple[str, ...] = (),
        credentials: Credentials | None = None,
    ) -> None:
        self.location = location
        self.paths = paths
        self.credentials = credentials or Credentials()
        if check_location(location):  # refuses options, remote helpers, other transports
            self.kind = RepoKind.REMOTE
            digest = hashlib.sha256(location.encode()).hexdigest()[:16]
            self.git_dir = data_dir / "repos" / f"{digest}.git"
            self.read_location = self.git_dir
        else:
            path = Path(location)
            if not path.exists():
                raise SourceError(f"repository {location!r} does not exist")
            bare = self._git("rev-parse", "--is-bare-repository", cwd=path).strip() == "true"
            self.kind = RepoKind.BARE if bare else RepoKind.WORKTREE
            self.git_dir = Path(self._git("rev-parse", "--absolute-git-dir", cwd=path).strip())
            self.read_location = path.resolve()  # a subfolder of a work tree reads only below it
        self.branch = check_branch(branch or self._default_branch())

    @property
    def display(self) -> str:
        return redact_url(self.location)

    # -- git -----------------------------------------------------------------------------------

    def _git(self, *args: str, cwd: Path | None = None, remote: bool = False) -> str:
        env = {
            **os.environ,
            "GIT_TERMINAL_PROMPT": "0",
            "LC_ALL": "C",
            "GIT_ALLOW_PROTOCOL": GIT_ALLOW_PROTOCOL,
            **config_environment(),
        }
        if remote:
            env.update(self.credentials.environment())
        command = ["git", *args]
        try:
            done = subprocess.run(
                command,
                cwd=cwd if cwd is not None else self.git_dir,
                env=env,
                capture_output=True,
                text=True,
                errors="replace",  # a pusher's bytes (a commit message) need not be UTF-8
                timeout=GIT_TIMEOUT,
                check=False,
                umask=0o077,  # a mirror in the data dir: files 0600, folders 0700
            )
        except subprocess.TimeoutExpired:
            # from None: the cause quotes the whole command, and a remote URL with its token
            raise SourceError(f"git {args[0]} on {self.display} timed out") from None
        except OSError as err:
            raise SourceError(f"cannot run git: {err.strerror}") from err
        if done.returncode != 0 and redirect_refused(done.stderr):
            raise SourceError(
                f"git {args[0]} on {self.display} failed: the server answered with a redirect, "
                "which syncd does not follow (the credentials would go to another host); "
                "if the repository moved, give its new URL"
            )
        if done.returncode != 0:
            detail = git_error(done.stderr, done.returncode)
            raise SourceError(f"git {args[0]} on {self.display} failed:\n{detail}")
        return done.stdout

    def _default_branch(self) -> str:
        if self.kind is RepoKind.REMOTE:
            out = self._git(
                "ls-remote", "--symref", "--", self.location, "HEAD", cwd=Path("/"), remote=True
            )
            for line in out.splitlines():
                if line.startswith("ref: refs/heads/"):
                    return line.split()[1].removeprefix("refs/heads/")
            raise SourceError(f"{self.display} has no default branch; give --branch")
        ref = self._git("symbolic-ref", "--quiet", "HEAD").strip()
        return ref.removeprefix("refs/heads/")

    # -- the questions the daemon asks ---------------------------------------------------------

    def head(self) -> str:
        """The commit the branch is at, fetching first when a remote's ref moved."""
        if self.kind is RepoKind.REMOTE:
            return self._remote_head()
        try:
            return self._git(
                "rev-parse",
                "--verify",
                "--quiet",
                "--end-of-options",
                f"refs/heads/{self.branch}^{{commit}}",
            ).strip()
        except SourceError as err:
            raise SourceError(f"branch {self.branch!r} does not exist in {self.display}") from err

    def _remote_head(self) -> str:
        out = self._git(
            "ls-remote",
            "--",
            self.location,
            f"refs/heads/{self.branch}",
            cwd=Path("/"),
            remote=True,
        )
        remote = out.split()[0] if out.strip() else None
        if remote is None:
            raise SourceError(f"branch {self.branch!r} does not exist on {self.display}")
        if not (self.git_dir / "HEAD").exists():
            datadir.private_dir(self.git_dir.parent)
            self._git("init", "--bare", "--quiet", "--", str(self.git_dir), cwd=Path("/"))
        local = self._local(self.branch)
        if local != remote:
            self._git(
                "fetch",
                "--quiet",
                "--prune",
                "--force",
                "--",
                self.location,
                f"+refs/heads/{self.branch}:refs/heads/{self.branch}",
                remote=True,
            )
        return remote

    def _local(self, branch: str) -> str | None:
        try:
            return self._git(
                "rev-parse", "--verify", "--quiet", "--end-of-options", f"refs/heads/{branch}"
            ).strip()
        except SourceError:
            return None

    def watch_paths(self) -> list[Path]:
        """What changes when the branch moves (for a local repo): the refs and packed-refs."""
        return [self.git_dir / "refs" / "heads", self.git_dir / "packed-refs", self.git_dir]

    def snapshot(self, revision: str) -> Snapshot:
        return read_revision(str(self.read_location), revision, list(self.paths))

    def commit_info(self, revision: str) -> CommitInfo | None:
        """`revision`'s subject, author and time, cleaned and bounded (None: unreadable)."""
        try:
            out = self._git("log", "-1", f"--format={GIT_FORMAT}", "--end-of-options", revision)
        except SourceError:
            return None
        return parse_commit(revision, out)

    def origin_url(self) -> str | None:
        """Where the repository comes from: the remote URL, or a local repo's `origin`."""
        if self.kind is RepoKind.REMOTE:
            return self.location
        try:
            return self._git("config", "--get", "remote.origin.url").strip() or None
        except SourceError:
            return None
