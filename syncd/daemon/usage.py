"""Disk usage of the projects' file areas (`<data-dir>/projects/<project>/files`), measured off
the request path: a bounded walk that never follows a symlink, at most every `every` seconds.

Sizes are counted as Docker counts a volume's `UsageData.Size`: the apparent size of every entry
that is not a directory, each hard-linked file once.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from syncd import logs

MAX_ENTRIES = 1_000_000  # per project and measurement: a bigger tree is reported as a lower bound


@dataclass(frozen=True)
class TreeSize:
    bytes: int
    complete: bool  # False: the walk stopped at its bound or met an unreadable folder


def tree_size(root: Path, max_entries: int = MAX_ENTRIES) -> TreeSize:
    """The apparent size of everything under `root` (0 for a missing folder)."""
    total, entries, complete = 0, 0, True
    seen: set[tuple[int, int]] = set()
    pending = [str(root)]
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(folder) as listing:
                for entry in listing:
                    entries += 1
                    if entries > max_entries:
                        return TreeSize(total, False)
                    info = entry.stat(follow_symlinks=False)
                    if stat.S_ISDIR(info.st_mode):
                        pending.append(entry.path)
                    elif (info.st_dev, info.st_ino) not in seen:
                        seen.add((info.st_dev, info.st_ino))
                        total += info.st_size
        except FileNotFoundError:
            continue  # not created yet, or removed meanwhile: nothing to count
        except OSError:
            complete = False  # unreadable (e.g. a container's private folder)
    return TreeSize(total, complete)


class FilesUsage:
    """The last measurement of every project's file area, renewed when it is older than `every`
    seconds or a project appeared since."""

    def __init__(self, folder: Callable[[str], Path], every: float) -> None:
        self._folder = folder
        self._every = every
        self._at = 0.0
        self._bytes: dict[str, int] = {}
        self._log = logs.get()

    def current(self, projects: Iterable[str]) -> tuple[float, dict[str, int]]:
        names = set(projects)
        if time.time() - self._at > self._every or not names <= set(self._bytes):
            self._at = time.time()
            self._bytes = {name: self._measure(name) for name in sorted(names)}
        return self._at, {name: self._bytes[name] for name in names}

    def _measure(self, project: str) -> int:
        size = tree_size(self._folder(project))
        if not size.complete:
            self._log.warning("files_usage_incomplete", project=project, counted=size.bytes)
        return size.bytes
