"""Files from git, configs and secrets written where containers mount them from.

`<data-dir>/revision-files/<instance>/<name>`: one read-only file or folder per content (and
mode and owner), so the same content is the same path whatever the revision, and a container
never sees a file change under it: new content is a new path (and a new container, by the
config hash).
`<name>` is an HMAC of the content's digest under a key kept in the data dir (0600), so a
path (seen in `docker inspect`) never is an unsalted hash of a secret. Entries no container of
the instance mounts any more are removed (`sweep`). Writes go to a temporary name first and are
renamed into place: a crash never leaves a half-written file under a final name.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import shutil
import threading
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from syncd import datadir
from syncd.core.options.files import FileTree
from syncd.errors import ServiceFailed
from syncd.settings import Settings

FILE_MODE = 0o444
DIR_MODE = 0o555
_KEY = ".key"


def root(settings: Settings) -> Path:
    return settings.data_dir / "revision-files" / settings.instance


def _key(base: Path) -> bytes:
    datadir.private_dir(base)
    path = base / _KEY
    datadir.private_file(path)
    key = path.read_bytes()
    if len(key) < 32:
        key = secrets.token_bytes(32)
        path.write_bytes(key)
    return key


def _owner(entry: Mapping[str, Any], name: str) -> tuple[int, int]:
    uid, gid = entry.get("uid"), entry.get("gid")
    own = (os.getuid(), os.getgid())
    wanted = (int(uid) if uid is not None else own[0], int(gid) if gid is not None else own[1])
    if wanted != own and os.geteuid() != 0:
        raise ServiceFailed(
            f"{name}: uid/gid {wanted[0]}:{wanted[1]} needs syncd to run as root (chown)"
        )
    return wanted


def _write(tree: FileTree, target: Path, mode: int, owner: tuple[int, int]) -> None:
    temporary = target.with_name(f"{target.name}.tmp-{secrets.token_hex(8)}")
    if tree.is_file:
        temporary.write_bytes(tree.entries[0][1])
        os.chown(temporary, *owner)
        temporary.chmod(mode)
    else:
        temporary.mkdir()
        for relative, data in tree.entries:
            path = temporary / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            path.chmod(mode)
        for folder in sorted((p for p in temporary.rglob("*") if p.is_dir()), reverse=True):
            folder.chmod(DIR_MODE)
        temporary.chmod(DIR_MODE)
    try:
        temporary.rename(target)
    except OSError:  # a folder written meanwhile by another service's step: the same content
        if not target.exists():
            raise
        _remove(temporary)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        for folder in [path, *(p for p in path.rglob("*") if p.is_dir())]:
            folder.chmod(0o700)
        shutil.rmtree(path)
    else:
        path.unlink()


class Materialiser:
    """Writes the content a service mounts; `path` answers where an entry is on the host."""

    def __init__(self, settings: Settings, trees: Mapping[str, FileTree]) -> None:
        self.base = root(settings)
        self.trees = trees
        self._secret = b""
        self._lock = threading.Lock()

    def name(self, entry: Mapping[str, Any]) -> str:
        with self._lock:
            if not self._secret:
                self._secret = _key(self.base)
        meta = [entry.get("digest"), entry.get("mode"), entry.get("uid"), entry.get("gid")]
        payload = json.dumps(meta, sort_keys=True).encode()
        return hmac.new(self._secret, payload, hashlib.sha256).hexdigest()

    def text(self, entry: Mapping[str, Any]) -> str:
        """The text of a file of the revision the engine takes inline (a seccomp profile)."""
        tree = self.trees.get(str(entry.get("digest")))
        if tree is None or not tree.is_file:
            raise ServiceFailed(
                f"{entry.get('source')}: its content is not in this revision; apply it again"
            )
        return tree.entries[0][1].decode("utf-8")

    def path(self, entry: Mapping[str, Any]) -> str:
        """The host path of `entry` (a `{type: git}` mount, a config or a secret), written if
        missing."""
        label = str(entry.get("source"))
        tree = self.trees.get(str(entry.get("digest")))
        target = self.base / self.name(entry)
        if target.exists():
            return str(target)
        if tree is None:
            raise ServiceFailed(f"{label}: its content is not in this revision; apply it again")
        mode = entry.get("mode")
        _write(tree, target, FILE_MODE if mode is None else int(mode), _owner(entry, label))
        return str(target)


def sweep(settings: Settings, in_use: Collection[str]) -> int:
    """Remove the entries whose host path no container mounts (`in_use`); how many went."""
    base = root(settings)
    if not base.is_dir():
        return 0
    removed = 0
    for path in base.iterdir():
        if (
            path.name == _KEY
            or str(path) in in_use
            or any(u.startswith(f"{path}/") for u in in_use)
        ):
            continue
        _remove(path)
        removed += 1
    return removed
