"""The commit a plan request names (`POST /v2/syncd/plans`): a revision (a commit's sha, or an
unambiguous prefix of one) or a ref (`refs/pull/12/head`, or a branch name), read from the
daemon's repository.

A local repository (work tree or bare) is read where it is. A remote's ref is fetched into the
daemon's mirror under a private name (`refs/syncd/plan/<digest>`, removed again once resolved:
nothing accumulates), and a full sha that the mirror lacks is fetched by itself; every fetch
runs under git's timeout, with the repository's own credentials, to the repository's own URL.

Names are checked before git sees them: a revision is hexadecimal, a ref follows
`git check-ref-format` (no leading `-`, no `..`, `:`, `*`, `@{`, spaces or control characters,
so neither an option nor a second refspec can be smuggled in) and is at most
`MAX_REF_LENGTH` characters long.
"""

from __future__ import annotations

import contextlib
import hashlib
import re

from syncd.errors import PlanRequestInvalid, RevisionNotFound, SourceError
from syncd.source.gitargs import check_branch
from syncd.source.repository import RepoKind, Repository

MAX_REF_LENGTH = 255
PLAN_NAMESPACE = "refs/syncd/plan/"
_SHA = re.compile(r"^[0-9a-f]{4,64}$")
_FULL_SHA_LENGTHS = (40, 64)  # sha1, sha256
_NO_REMOTE_REF = re.compile(r"couldn't find remote ref|not our ref|no such remote ref", re.I)


def check_sha(revision: str) -> str:
    """`revision`, lower-cased, if it is 4 to 64 hexadecimal digits."""
    lowered = revision.lower()
    if not _SHA.match(lowered):
        shown = revision[:80] + ("…" if len(revision) > 80 else "")
        raise PlanRequestInvalid(
            f"revision {shown!r} is not a commit sha (4 to 64 hexadecimal digits); "
            "name a branch or another ref as `ref`"
        )
    return lowered


def check_ref(ref: str) -> str:
    """The full name of `ref`: `refs/…` as given, anything else a branch (`refs/heads/…`)."""
    shown = ref[:80] + ("…" if len(ref) > 80 else "")
    if len(ref) > MAX_REF_LENGTH:
        raise PlanRequestInvalid(f"ref {shown!r} is longer than {MAX_REF_LENGTH} characters")
    full = ref if ref.startswith("refs/") else f"refs/heads/{ref}"
    try:
        check_branch(full)
        if any(part.startswith("-") for part in full.split("/")):
            raise SourceError("a part starts with '-'")
    except SourceError:
        raise PlanRequestInvalid(
            f"ref {shown!r} is not a valid ref name (git check-ref-format: no '..', ':', '*', "
            "'?', '[', '~', '^', '@{', spaces or control characters, no leading '-')"
        ) from None
    if full.startswith(PLAN_NAMESPACE):
        raise PlanRequestInvalid(f"ref {shown!r} is syncd's own")
    return full


def _commit(repo: Repository, rev: str, *, sha: bool = False) -> str | None:
    """The commit `rev` names in the (local or mirrored) repository; None: not there. A `sha`
    must name a commit by its digits (git would prefer a ref spelled like them)."""
    try:
        out = repo._git("rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
    except SourceError:
        return None
    found = out.strip()
    return found if found and (not sha or found.startswith(rev)) else None


def _mirrored(repo: Repository) -> None:
    if not (repo.git_dir / "HEAD").exists():
        raise SourceError(f"the daemon has not read {repo.display} yet; try again after its sync")


def _fetch(repo: Repository, refspec: str, what: str) -> None:
    try:
        repo._git(
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-write-fetch-head",
            "--no-recurse-submodules",
            "--",
            repo.location,
            refspec,
            remote=True,
        )
    except SourceError as err:
        if _NO_REMOTE_REF.search(str(err)):
            raise RevisionNotFound(f"{what} does not exist on {repo.display}") from None
        raise


def resolve(repo: Repository, *, revision: str | None = None, ref: str | None = None) -> str:
    """The full sha of the commit `revision` or `ref` names (exactly one of them)."""
    if (revision is None) == (ref is None):
        raise PlanRequestInvalid("name exactly one of `revision` and `ref`")
    remote = repo.kind is RepoKind.REMOTE
    if remote:
        _mirrored(repo)
    if revision is not None:
        sha = check_sha(revision)
        found = _commit(repo, sha, sha=True)
        if found is None and remote and len(sha) in _FULL_SHA_LENGTHS:
            _fetch(repo, sha, f"revision {sha}")
            found = _commit(repo, sha, sha=True)
        if found is None:
            hint = " (a short sha is looked up in what the daemon fetched)" if remote else ""
            raise RevisionNotFound(f"revision {sha} does not exist in {repo.display}{hint}")
        return found
    assert ref is not None
    full = check_ref(ref)
    if not remote:
        found = _commit(repo, full)
        if found is None:
            raise RevisionNotFound(f"ref {full} does not exist in {repo.display}")
        return found
    private = PLAN_NAMESPACE + hashlib.sha256(full.encode()).hexdigest()[:24]
    _fetch(repo, f"+{full}:{private}", f"ref {full}")
    try:
        found = _commit(repo, private)
    finally:  # the objects stay (git gc keeps new ones for weeks), the name goes
        with contextlib.suppress(SourceError):
            repo._git("update-ref", "-d", private)
    if found is None:
        raise RevisionNotFound(f"ref {full} on {repo.display} does not name a commit")
    return found
