"""A CI checkout as `syncd validate` and `syncd plan` meet it: where the manifest folder lies in
its work tree (annotations name files from the top, as the git host shows them), and revisions a
shallow or single-branch clone lacks, fetched from the clone's own remote.

A CI system clones one commit (`actions/checkout` fetches depth 1; GitLab fetches `GIT_DEPTH`
commits of one ref), so `--base origin/main` names nothing until it is fetched. Only what a plan
needs is fetched: the one commit (`--depth=1` in a shallow clone), never tags or submodules, with
git's redirects off, within `FETCH_TIMEOUT`. When that is not possible, the error says what to
change in the pipeline.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from syncd import logs
from syncd.errors import SourceError
from syncd.source.gitargs import check_branch, check_revision, config_environment, git_error

FETCH_TIMEOUT = 120.0
LOCAL_TIMEOUT = 30.0
# The clone's own remote may be a plain-http Gitea; ext:: and other helpers stay refused.
_PROTOCOLS = "file:https:ssh:http"
_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
HINT = (
    "fetch it before syncd runs (`git fetch origin <branch>`), or check out the whole "
    "history: `fetch-depth: 0` under `with:` of actions/checkout (GitHub, Gitea, Forgejo), "
    "`GIT_DEPTH: 0` in the job's `variables:` (GitLab CI)"
)


def _git(cwd: Path, *args: str, timeout: float = LOCAL_TIMEOUT) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "LC_ALL": "C",
        "GIT_ALLOW_PROTOCOL": _PROTOCOLS,
        **config_environment(),
    }
    try:
        return subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SourceError(f"git {args[0]} in {cwd} took over {timeout:.0f} s; gave up") from None
    except OSError as err:
        raise SourceError(f"cannot run git: {err.strerror}") from err


def repo_prefix(location: str | Path) -> str:
    """Where `location` lies below the top of its git work tree ('' at the top, or in a bare
    repo); outside git, below the current directory; '' when it is not below it either."""
    path = Path(location)
    try:
        done = _git(path, "rev-parse", "--show-prefix")
    except SourceError:
        done = None
    if done is not None and done.returncode == 0:
        return done.stdout.strip().rstrip("/")
    try:
        rel = Path(os.path.relpath(path.resolve(), Path.cwd().resolve())).as_posix()
    except (OSError, ValueError):
        return ""
    return "" if rel == "." or rel.startswith("../") or rel == ".." else rel


@dataclass(frozen=True)
class _Fetch:
    remote: str
    source: str  # what the remote has: refs/heads/main, a commit id, a ref
    target: str | None  # the local ref it is stored as (None: FETCH_HEAD only)

    def refspec(self) -> str:
        return f"+{self.source}:{self.target}" if self.target else self.source


def _what_to_fetch(rev: str, remotes: list[str]) -> _Fetch | None:
    """How `rev` is fetched from one of `remotes`, or None when it names no fetchable thing
    (`HEAD~3`, `main@{1}`)."""
    default = "origin" if "origin" in remotes else (remotes[0] if len(remotes) == 1 else None)
    first, _, rest = rev.partition("/")
    try:
        if rest and first in remotes:  # origin/main
            return _Fetch(first, f"refs/heads/{check_branch(rest)}", f"refs/remotes/{rev}")
        if default is None:
            return None
        if _SHA.match(rev):
            return _Fetch(default, rev, None)
        if rev.startswith("refs/heads/"):
            branch = check_branch(rev.removeprefix("refs/heads/"))
            return _Fetch(default, rev, f"refs/remotes/{default}/{branch}")
        if rev.startswith("refs/"):  # refs/pull/12/head, refs/merge-requests/3/head
            check_branch(rev.removeprefix("refs/"))
            return _Fetch(default, rev, rev)
        return _Fetch(default, check_branch(rev), None)  # a branch or tag name
    except SourceError:
        return None


def _commit(cwd: Path, rev: str) -> str | None:
    done = _git(cwd, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
    return done.stdout.strip() if done.returncode == 0 else None


def fetch_missing(location: str | Path, rev: str) -> str:
    """`rev` when the repository holding `location` has it; else the commit id fetched from the
    clone's remote. `SourceError`, saying what to change, when it cannot be fetched. A folder
    outside git is left to the reader's own error."""
    check_revision(rev)
    cwd = Path(location)
    if not cwd.is_dir():
        return rev
    if _git(cwd, "rev-parse", "--git-dir").returncode != 0:
        return rev
    if _commit(cwd, rev) is not None:
        return rev
    shallow = _git(cwd, "rev-parse", "--is-shallow-repository").stdout.strip() == "true"
    remotes = _git(cwd, "remote").stdout.split()
    kind = "a shallow clone" if shallow else "this clone"
    fetch = _what_to_fetch(rev, remotes)
    if fetch is not None and not shallow and fetch.target is None and not _SHA.match(rev):
        fetch = None  # a full clone has its branches: a plain name is the user's own to fix
    if fetch is None:
        if not shallow:
            return rev  # the reader says it does not exist
        raise SourceError(
            f"revision {rev!r} is not in {kind} of {cwd} and names nothing syncd can fetch; {HINT}"
        )
    depth = ["--depth=1"] if shallow else []
    done = _git(
        cwd,
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-recurse-submodules",
        *depth,
        "--",
        fetch.remote,
        fetch.refspec(),
        timeout=FETCH_TIMEOUT,
    )
    if done.returncode != 0:
        detail = git_error(done.stderr, done.returncode)
        raise SourceError(
            f"revision {rev!r} is not in {kind} of {cwd}, and fetching {fetch.source!r} from "
            f"{fetch.remote!r} failed; {HINT}; git said:\n{detail}"
        )
    found = _commit(cwd, fetch.target or "FETCH_HEAD")
    if found is None:
        raise SourceError(f"revision {rev!r} was fetched from {fetch.remote!r} but is no commit")
    logs.get().info(
        "revision_fetched", revision=rev, remote=fetch.remote, commit=found, shallow=shallow
    )
    return rev if fetch.target and _commit(cwd, rev) == found else found
