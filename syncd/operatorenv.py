"""The operator's variables and secret files: everything a manifest may read, in one place.

- variables: the env file(s) (`--env-file`, repeatable; `SYNCD_ENV_FILE` comma-separated; later
  files win), then the variables of syncd's own process that the operator allows by name or by
  `PREFIX*` (`--allow-env`, repeatable; `SYNCD_ALLOW_ENV` comma-separated; default none), which
  win over the files. `SYNCD_*` names are dropped from every source: they are syncd's own
  settings and tokens, and naming one (or a `SYNCD_` prefix) in `--allow-env` is refused.
- secret files: `{file: …}` is read only inside the secrets directory (`--secrets-dir`), never
  through a symlink that leads out of it, only a regular file, and at most `MAX_SECRET_BYTES`.

The CLI (validate, plan, apply) and the daemon (`syncd run`) both take their variables from
`variables()`; `${VAR}` and `{env: NAME}` see nothing else.
"""

from __future__ import annotations

import argparse
import os
import re
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path

from syncd.errors import SecretFileError, SopsError, SyncdError
from syncd.layers import Layers
from syncd.secretpolicy import (
    ENV_FILE_SETTING,
    OWN_PREFIX,
    SECRETS_DIR_SETTING,
    inside,
    is_own,
)
from syncd.sops import AgeIdentities

MAX_SECRET_BYTES = 64 * 1024
_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\*?$|^\*$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--env-file",
        action="append",
        metavar="FILE",
        help="KEY=VALUE file of variables manifests may use; repeatable (env: SYNCD_ENV_FILE)",
    )
    parser.add_argument(
        "--allow-env",
        action="append",
        metavar="NAME",
        help="a variable of syncd's environment manifests may use, or PREFIX*; repeatable "
        "(env: SYNCD_ALLOW_ENV, comma-separated; default: none; SYNCD_* never)",
    )
    parser.add_argument(
        "--secrets-dir",
        metavar="DIR",
        help="where {file: ...} secrets are read (env: SYNCD_SECRETS_DIR; <data dir>/secrets)",
    )
    parser.add_argument(
        "--age-key-file",
        metavar="FILE",
        help="age identities that decrypt the repository's SOPS files (env: SYNCD_AGE_KEY_FILE, "
        "else SOPS_AGE_KEY_FILE; default: none)",
    )


def _list(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def allow_patterns(text: str) -> tuple[str, ...]:
    """The `--allow-env` setting's names and `PREFIX*`es; `SYNCD_*` ones refused."""
    patterns = _list(text)
    for pattern in patterns:
        if not _PATTERN.match(pattern):
            raise SyncdError(
                f"--allow-env {pattern!r} is not a variable name or PREFIX* (e.g. SHOP_*)"
            )
        if is_own(pattern) or pattern.upper().startswith(OWN_PREFIX.rstrip("_")):
            raise SyncdError(
                f"--allow-env {pattern!r}: {OWN_PREFIX}* variables are syncd's own settings and "
                "tokens; manifests can never read them"
            )
    return patterns


def settings(layers: Layers) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The env files and allow patterns, by the usual precedence (flag, SYNCD_*, file)."""
    return _list(layers.get("env_file", "")), allow_patterns(layers.get("allow_env", ""))


def allowed(name: str, patterns: Sequence[str]) -> bool:
    if is_own(name):
        return False
    return any(name.startswith(p[:-1]) if p.endswith("*") else name == p for p in patterns)


def read_env_file(path: str) -> dict[str, str]:
    if not Path(path).is_file():
        raise SyncdError(f"env file {path!r} does not exist ({ENV_FILE_SETTING})")
    from dotenv import dotenv_values

    # Taken literally: python-dotenv would expand `${NAME}` from syncd's own environment,
    # `${SYNCD_ADMIN_TOKEN}` included, around `--allow-env`.
    values = dotenv_values(path, interpolate=False)
    return {k: v for k, v in values.items() if v is not None}


def variables(
    env_files: Sequence[str], allow: Sequence[str], process: Mapping[str, str]
) -> dict[str, str]:
    """The operator's variables: what `${VAR}` and `{env: NAME}` may read, and nothing else."""
    values: dict[str, str] = {}
    for path in env_files:
        values.update(read_env_file(path))
    values.update((k, v) for k, v in process.items() if allowed(k, allow))
    return {k: v for k, v in values.items() if not is_own(k)}


def from_layers(layers: Layers, process: Mapping[str, str]) -> dict[str, str]:
    env_files, allow = settings(layers)
    return variables(env_files, allow, process)


def describe(values: Mapping[str, str]) -> str:
    """The names manifests may use (never the values), for `--print-config`."""
    names = ", ".join(sorted(values)) or "(none)"
    return f"# variables manifests may use: {names}"


def read_secret_file(ref: str, secrets_dir: Path) -> str:
    """The text of `{file: ref}`, read only from a regular file inside `secrets_dir`.

    Errors name the reference and the reason, never any of the content."""
    relative = inside(ref, secrets_dir)
    if relative is None:
        raise SecretFileError(
            f"the password file {ref} is outside the secrets directory {secrets_dir} "
            f"({SECRETS_DIR_SETTING})"
        )
    root = os.path.realpath(secrets_dir)
    target = os.path.realpath(os.path.join(root, relative))
    if os.path.commonpath([root, target]) != root or target == root:
        raise SecretFileError(
            f"the password file {ref} resolves outside the secrets directory {secrets_dir} "
            "(a symlink); refused"
        )
    try:
        fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as err:
        raise SecretFileError(
            f"cannot read the password file {ref} in {secrets_dir}: {err.strerror}"
        ) from err
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise SecretFileError(f"the password file {ref} is not a regular file; refused")
    with os.fdopen(fd, "rb") as file:
        data = file.read(MAX_SECRET_BYTES + 1)
    if len(data) > MAX_SECRET_BYTES:
        raise SecretFileError(
            f"the password file {ref} is larger than {MAX_SECRET_BYTES} bytes; refused"
        )
    try:
        return data.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        # from None: the cause holds the file's bytes, the password itself
        raise SecretFileError(f"the password file {ref} is not UTF-8 text") from None


_identities: dict[Path, tuple[tuple[int, int], AgeIdentities]] = {}  # path -> (mtime, size), keys


def age_identities(path: Path | None) -> AgeIdentities | None:
    """The operator's age identities (`--age-key-file`), read again only when the file changed
    (its mtime or size); None without a key file. `SopsError` names the file, never a key."""
    if path is None:
        return None
    try:
        info = path.stat()
    except OSError as err:
        raise SopsError(f"cannot read the age key file {path}: {err.strerror}") from None
    stamp = (info.st_mtime_ns, info.st_size)
    cached = _identities.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    identities = AgeIdentities.from_file(path)
    _identities.clear()  # one key file per process: never more than one set held
    _identities[path] = (stamp, identities)
    return identities
