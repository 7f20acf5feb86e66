"""Which source a sync reads: the repository's identity, the branch and the manifest paths.

The identity is the remote URL of the branch's remote when there is one (a clone applied by hand
and the daemon watching its origin are one source), else the repository's resolved path. A URL
never keeps its userinfo (`https://user:token@host/x` -> `https://host/x`): the identity is
stored and printed, and a token rotated in the URL is still the same source.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syncd.errors import SourceError
from syncd.source.checkout import _git
from syncd.source.gitargs import check_location
from syncd.taint import printable, redact_url

MAX_TEXT = 1024  # a recorded field longer than this is cut (the store is ours, but bounded)
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@")


@dataclass(frozen=True)
class SourceIdentity:
    repo: str  # remote URL without userinfo, or an absolute path
    branch: str | None  # None: not on a branch (a plain directory, a detached HEAD)
    paths: tuple[str, ...] = ()  # manifest roots below the repository's top ('' = all of it)

    def __str__(self) -> str:
        text = f"{self.repo} (branch {self.branch or '(none)'}"
        if self.paths != ("",):
            text += f", paths {', '.join(self.paths)}"
        return printable(redact_url(text + ")"))

    def same_as(self, other: SourceIdentity) -> bool:
        """One source: the same repository and paths, and the same branch unless one of them
        is on none (a detached HEAD in CI claims no other branch)."""
        if self.repo != other.repo or self.paths != other.paths:
            return False
        return self.branch is None or other.branch is None or self.branch == other.branch

    def to_json(self) -> str:
        return json.dumps({"repo": self.repo, "branch": self.branch, "paths": list(self.paths)})

    @classmethod
    def from_json(cls, text: str) -> SourceIdentity | None:
        """The recorded identity; None when the record is not one (never a traceback)."""
        try:
            raw: Any = json.loads(text)
        except ValueError:
            return None
        if not isinstance(raw, dict):
            return None
        repo, branch, paths = raw.get("repo"), raw.get("branch"), raw.get("paths")
        if not isinstance(repo, str) or not (branch is None or isinstance(branch, str)):
            return None
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            return None
        return cls(repo[:MAX_TEXT], branch[:MAX_TEXT] if branch else None, tuple(paths[:100]))


def strip_userinfo(url: str) -> str:
    """A URL without its `user:password@`; trailing `/` removed."""
    return _USERINFO.sub(r"\1", url.strip()).rstrip("/")


def _out(cwd: Path, *args: str) -> str | None:
    """git's answer in `cwd`, or None when git says no (not a repository, no such key)."""
    done = _git(cwd, *args)
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def _roots(prefix: str, paths: Sequence[str]) -> tuple[str, ...]:
    """The manifest roots as paths below the repository's top, sorted ('' = the whole repo)."""
    out = set()
    for path in paths or [""]:
        joined = posixpath.normpath(posixpath.join(prefix, path.strip("/"))).strip("/")
        out.add("" if joined == "." else joined)
    return ("",) if "" in out else tuple(sorted(out))


def _remote_url(cwd: Path, branch: str | None) -> str | None:
    """The URL of `branch`'s remote (its upstream), else of `origin`; local paths resolved."""
    remote = _out(cwd, "config", "--get", f"branch.{branch}.remote") if branch else None
    url = _out(cwd, "config", "--get", f"remote.{remote or 'origin'}.url")
    if url is None:
        return None
    if url.startswith("file://"):
        url = url.removeprefix("file://")
    try:
        if check_location(url):
            return strip_userinfo(url)
    except SourceError:
        return None
    return str((cwd / url).resolve())


def _branch(cwd: Path, rev: str | None) -> str | None:
    """`rev` when it names a branch (`main`, `origin/main` -> `main`), else the checked-out one."""
    if rev:
        if _out(cwd, "rev-parse", "--verify", "-q", f"refs/heads/{rev}"):
            return rev
        if "/" in rev and _out(cwd, "rev-parse", "--verify", "-q", f"refs/remotes/{rev}"):
            return rev.split("/", 1)[1]
    return _out(cwd, "symbolic-ref", "--short", "-q", "HEAD")


def identify(
    location: str, paths: Sequence[str], *, branch: str | None = None, rev: str | None = None
) -> SourceIdentity:
    """The identity of the source at `location` (a remote URL, a repository, a directory).
    `branch` is the branch a daemon follows; else the branch `rev` names or the checked-out one."""
    if check_location(location):
        return SourceIdentity(strip_userinfo(location), branch, _roots("", paths))
    path = Path(location).resolve()
    if not path.is_dir() or _out(path, "rev-parse", "--git-dir") is None:
        return SourceIdentity(str(path), None, _roots("", paths))  # a plain directory
    branch = branch or _branch(path, rev)
    prefix = (_out(path, "rev-parse", "--show-prefix") or "").rstrip("/")
    top = _out(path, "rev-parse", "--show-toplevel") or _out(
        path, "rev-parse", "--absolute-git-dir"
    )
    repo = _remote_url(path, branch) or str(Path(top or path).resolve())
    return SourceIdentity(repo, branch, _roots(prefix, paths))
