"""The data dir is syncd's own: mode 0700, and every file syncd keeps in it (state store with its
`-wal`/`-shm`, lock files, mirrored repositories) readable by syncd's user only.

A data dir that already exists is tightened to 0700 at start. The project-file folders that
containers mount keep ordinary modes: the 0700 data dir above them already closes them to other
host users, and a container's user must still reach its own mount.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """`path` (and missing parents) created 0700; an existing `path` is tightened to 0700."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o777 != DIR_MODE:
        # a folder another user owns (and lets syncd write to) stays as its owner set it
        with contextlib.suppress(PermissionError):
            path.chmod(DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """`path` created empty if missing (never truncated), and made 0600 either way."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path


def tighten(*paths: Path) -> None:
    """Each of `paths` that exists made 0600 (a file an older syncd left 0644)."""
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.chmod(FILE_MODE)
