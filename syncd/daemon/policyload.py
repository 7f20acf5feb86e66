"""Reading the operator's policy file (`--policy` / `SYNCD_POLICY_FILE`) for the CLI and the
daemon: the file's bytes, parsed by `manifests.policyfile`, into `Settings.policy`.

The file is the operator's, never the repository's: a policy file inside the manifest repo (a
local work tree or bare repo, symlinks resolved) is refused, or a pusher could grant itself
rights. Every problem is an error at the file's line (`PolicyFileError`, exit 78).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from syncd.errors import PolicyFileError, SourceError
from syncd.manifests.policyfile import POLICY_LIMITS, load_policy
from syncd.policy import BUILTIN, Policy
from syncd.settings import Settings
from syncd.source.reader import open_repo


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def read_policy(path: Path | None, repo: str | None = None) -> Policy:
    """The policy in `path` (None: the built-in one, nothing allowed). `repo`: the manifest
    repository as given to syncd (a path, or a remote URL, which holds no local file)."""
    if path is None:
        return BUILTIN
    real = Path(os.path.realpath(path))
    if repo is not None and repo.startswith("file://"):
        repo = repo.removeprefix("file://")  # a local repository all the same
    if repo is not None and "://" not in repo and not _remote_scp(repo):
        roots = {Path(os.path.realpath(repo)), _git_root(repo)}
        if any(_inside(real, root) for root in roots):
            raise PolicyFileError(
                f"policy file {path} lies inside the manifest repository {repo}: the repository "
                "must not grant itself rights; keep the policy in syncd's own configuration "
                "(e.g. /etc/syncd/policy.yaml)"
            )
    if real.exists() and not real.is_file():  # a FIFO or device would block or never end
        raise PolicyFileError(f"the policy file {path} is not a regular file")
    try:
        with open(real, "rb") as handle:
            data = handle.read(POLICY_LIMITS.max_file_bytes + 1)
    except OSError as err:
        raise PolicyFileError(f"cannot read the policy file {path}: {err.strerror}") from err
    policy, problems = load_policy(str(path), data)
    if policy is None:
        raise PolicyFileError(f"the policy file {path} is invalid", problems)
    return policy


def _git_root(location: str) -> Path:
    """The whole git repository holding `location` (a pusher controls all of it, not only the
    manifest folder given), or `location` itself when it is in none."""
    try:
        repo, _ = open_repo(location)
    except SourceError:
        return Path(os.path.realpath(location))
    top = repo.git_dir if repo.bare else (repo.working_tree_dir or location)
    repo.close()
    return Path(os.path.realpath(top))


def _remote_scp(repo: str) -> bool:
    """`git@host:path`: git's scp-like remote syntax (no local file)."""
    head, sep, _ = repo.partition(":")
    return bool(sep) and "@" in head and "/" not in head


def with_policy(settings: Settings, repo: str | None = None) -> Settings:
    """`settings` with its policy file read (`settings.policy`)."""
    policy = read_policy(settings.policy_file, repo)
    return dataclasses.replace(settings, policy=policy)
