"""Which files are Compose files, and which folders are Compose projects: one rule for the
source reader (which data files of a revision it reads) and the manifest reader (which YAML
files are data, not manifests). Pure: no I/O.
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection, Iterable

COMPOSE_NAMES = frozenset(
    {"compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"}
)


def is_compose(path: str) -> bool:
    return posixpath.basename(path) in COMPOSE_NAMES


def compose_folders(paths: Iterable[str]) -> frozenset[str]:
    """The folders (repository paths, "" for the root) that hold a Compose file."""
    return frozenset(posixpath.dirname(p) for p in paths if is_compose(p))


def in_compose_folder(path: str, folders: Collection[str]) -> bool:
    """Whether `path` (not itself a Compose file) lies in or below a Compose project folder."""
    folder = posixpath.dirname(path)
    while True:
        if folder in folders:
            return True
        if not folder:
            return False
        folder = posixpath.dirname(folder)
