"""Which secret sources a manifest may name: rules shared by validation and by the reads.

A pusher controls the manifests; the operator decides what they may read. A manifest reads
variables only from the operator's variables (env file(s) and the process variables the operator
allows by name or prefix), never `SYNCD_*` (syncd's own settings and tokens), and files only
inside the secrets directory. Pure: these rules look at names and paths, never at the disk.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import PurePath, PurePosixPath

OWN_PREFIX = "SYNCD_"
ENV_FILE_SETTING = "--env-file / SYNCD_ENV_FILE"
ALLOW_ENV_SETTING = "--allow-env / SYNCD_ALLOW_ENV"
SECRETS_DIR_SETTING = "--secrets-dir / SYNCD_SECRETS_DIR"


def is_own(name: str) -> bool:
    """A variable of syncd itself (any case): never an operator's variable."""
    return name.upper().startswith(OWN_PREFIX)


def unset_variable(name: str) -> str:
    """Why `name` has no value for a manifest, naming the setting that would give it one."""
    if is_own(name):
        return (
            f"{name} is never readable by a manifest: {OWN_PREFIX}* variables are syncd's own "
            f"settings and tokens, which neither {ENV_FILE_SETTING} nor {ALLOW_ENV_SETTING} "
            "can expose"
        )
    return (
        f"{name} is not set: it is not in the operator's env file(s) ({ENV_FILE_SETTING}) "
        f"and not allowed from syncd's environment ({ALLOW_ENV_SETTING})"
    )


def file_problem(ref: str, secrets_dir: PurePath | None) -> str | None:
    """Why `{file: ref}` is refused, or None: a relative path is taken inside the secrets
    directory, an absolute one must lie inside it; `..` is refused either way."""
    if not ref or "\0" in ref:
        return "the secret file path is empty or holds a NUL byte"
    if ".." in PurePosixPath(ref).parts:
        return (
            f"'..' is refused in a secret file path ({ref!r}): give a path inside the secrets "
            f"directory ({SECRETS_DIR_SETTING})"
        )
    if not ref.startswith("/"):
        return None
    if secrets_dir is None:
        return (
            f"{ref} is an absolute path: give a path relative to the secrets directory "
            f"({SECRETS_DIR_SETTING})"
        )
    if inside(ref, secrets_dir) is None:
        return (
            f"{ref} is outside the secrets directory {secrets_dir}; give a path inside it "
            f"(or relative to it), or change {SECRETS_DIR_SETTING}"
        )
    return None


def inside(ref: str, secrets_dir: PurePath) -> PurePosixPath | None:
    """`ref` as a path relative to the secrets directory, or None when it lies outside
    (lexically: the read resolves symlinks again)."""
    if not ref or "\0" in ref or ".." in PurePosixPath(ref).parts:
        return None
    if not ref.startswith("/"):
        return PurePosixPath(posixpath.normpath(ref))
    path = PurePosixPath(posixpath.normpath(ref))
    root = PurePosixPath(posixpath.normpath(str(secrets_dir)))
    if not path.is_relative_to(root) or path == root:
        return None
    return path.relative_to(root)


_UNKNOWN = re.compile(
    r"\(from \$[A-Za-z_][A-Za-z0-9_]*, not set here\)|\(encrypted value [0-9a-f]{16}\)"
)
_ENCRYPTED = re.compile(r"\(encrypted value [0-9a-f]{16}\)")


def unknown_value(name: str) -> str:
    """What a variable not set stands for in a plan between revisions (`unknowns_allowed`):
    its name, so that two revisions that both use it compare equal, like terraform's
    "known after apply"."""
    return f"(from ${name}, not set here)"


def encrypted_value(fingerprint: str, key: str) -> str:
    """What a value of a SOPS file stands for in a plan made without the age key: an id of the
    file's encrypted content (`SopsDocument.fingerprint`, never derived from plaintext) and the
    key's name. Unchanged file: equal; re-encrypted (a value edited): "(encrypted value
    changed)"."""
    digest = hashlib.sha256(f"{fingerprint}\0{key}".encode()).hexdigest()[:16]
    return f"(encrypted value {digest})"


def is_unknown(text: str) -> bool:
    """Whether `text` is exactly one `unknown_value` or `encrypted_value`."""
    return _UNKNOWN.fullmatch(text) is not None


def is_encrypted(text: str) -> bool:
    """Whether `text` is exactly one `encrypted_value`."""
    return _ENCRYPTED.fullmatch(text) is not None


_PLANNING: ContextVar[bool] = ContextVar("syncd_unknowns_allowed", default=False)


@contextmanager
def unknowns_allowed() -> Iterator[None]:
    """Within: a variable not set is an unknown value (`unknown_value`), not an error, and a
    registry password's variable need not be set. Only a plan between two revisions reads
    manifests so; apply, validate and the daemon never do (each thread starts without it)."""
    token = _PLANNING.set(True)
    try:
        yield
    finally:
        _PLANNING.reset(token)


def planning() -> bool:
    """Whether values not known here are allowed (within `unknowns_allowed`)."""
    return _PLANNING.get()


def unknowable(name: str) -> bool:
    """Whether variable `name`, not set, is an unknown value rather than an error: only within
    `unknowns_allowed`, and never for syncd's own names (never readable at all)."""
    return _PLANNING.get() and not is_own(name)


def holds_unknown(text: str) -> bool:
    """Whether `text` holds an unknown value that may stand where a value with a syntax is
    expected (an image reference): only within `unknowns_allowed`."""
    return _PLANNING.get() and _UNKNOWN.search(text) is not None
