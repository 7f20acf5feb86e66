"""The canonical form of what a service mounts (see `manifests.options.files`). Pure: no I/O.

A `volumes` entry stays the short text syncd always had for named volumes and project-files
folders (`data:/data:rw`: the config hash of containers made before is unchanged), and is a
mapping for the long forms: `{type: bind, source: /host, ...}`, `{type: tmpfs, ...}`,
`{type: volume, ..., nocopy: true}`. A relative bind is written `{type: bind, source: ./x}` by
`fields` and resolved against the revision by `resolve`: a file or folder of the revision
becomes `{type: git, source: <repo path>, digest: sha256:...}` (its content is part of the
config hash), one the revision lacks becomes a project-files folder (`/x:/target:rw`), a data
folder. `configs` / `secrets` entries get the digest of their content the same way; a secret's
digest is a tainted value (redacted in every output, kept as an HMAC by the store).
"""

from __future__ import annotations

import functools
import hashlib
import json
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from syncd.errors import UnresolvedFile
from syncd.manifests.fields import clean_mountpoint, parse_mount
from syncd.manifests.model import Service
from syncd.manifests.options.files import (
    SECRETS_DIR,
    FileRef,
    FileSource,
    Mount,
    MountType,
)

DEFAULTS: dict[str, Any] = {"configs": [], "secrets": []}
# Fields of this group whose change needs no new container (syncd only records them).
METADATA: frozenset[str] = frozenset()
FILE_FIELDS = ("volumes", "configs", "secrets")
CONFIG_MODE = 0o444
SECRET_MODE = 0o400


@dataclass(frozen=True)
class FileTree:
    """Content to materialise: one file (`entries == (("", data),)`) or a folder's files."""

    entries: tuple[tuple[str, bytes], ...] = field(repr=False)

    @property
    def is_file(self) -> bool:
        return len(self.entries) == 1 and self.entries[0][0] == ""

    @functools.cached_property
    def digest(self) -> str:
        sha = hashlib.sha256(b"syncd-files-v1\0")
        for path, data in self.entries:
            name = path.encode("utf-8", "surrogateescape")
            sha.update(len(name).to_bytes(8, "big") + name)
            sha.update(len(data).to_bytes(8, "big") + hashlib.sha256(data).digest())
        return "sha256:" + sha.hexdigest()


def mount_text(raw: str) -> str:
    mount = parse_mount(raw)
    return f"{mount.source}:{mount.target}:{'ro' if mount.read_only else 'rw'}"


def mount_entry(item: str | Mount) -> str | dict[str, Any]:
    """One `volumes` entry in canonical form."""
    if isinstance(item, str):
        return mount_text(item)
    target = clean_mountpoint(item.target)
    mode = "ro" if item.read_only else "rw"
    match item.type:
        case MountType.VOLUME:
            nocopy = bool(item.volume and item.volume.nocopy)
            if item.source is None:  # anonymous (`core.options.volumes`)
                anonymous: dict[str, Any] = {"type": "anonymous", "target": target,
                                             "readOnly": item.read_only}  # fmt: skip
                if nocopy:
                    anonymous["nocopy"] = True
                if item.volume and item.volume.labels:
                    anonymous["labels"] = dict(sorted(item.volume.labels.items()))
                return anonymous
            if not nocopy:
                return f"{item.source}:{target}:{mode}"
            return {"type": "volume", "source": item.source, "target": target,
                    "readOnly": item.read_only, "nocopy": True}  # fmt: skip
        case MountType.TMPFS:
            options = item.tmpfs
            return {"type": "tmpfs", "target": target, "readOnly": item.read_only,
                    "size": options.size if options else None,
                    "mode": options.mode if options else None}  # fmt: skip
        case MountType.BIND:
            source = item.source or ""
            out: dict[str, Any] = {"type": "bind", "target": target, "readOnly": item.read_only}
            out["source"] = posixpath.normpath(source) if source.startswith("/") else source
            if item.bind and item.bind.propagation:
                out["propagation"] = item.bind.propagation.value
            return out


def mount_label(entry: object) -> str:
    """A `volumes` entry as one text (mittwald's `volumes` are strings): the long forms as
    `<source>:<target>:<ro|rw>` (`tmpfs:<target>:rw` for a tmpfs, `anonymous:...` for an
    anonymous volume)."""
    if isinstance(entry, str) or not isinstance(entry, Mapping):
        return str(entry)
    mode = "ro" if entry.get("readOnly") else "rw"
    source = (
        entry.get("type") if entry.get("type") in ("tmpfs", "anonymous") else entry.get("source")
    )
    return f"{source}:{entry.get('target')}:{mode}"


def sort_mounts(entries: list[str | dict[str, Any]]) -> list[str | dict[str, Any]]:
    """Texts first (sorted, as syncd always kept them), then mappings by their JSON."""
    texts = sorted({e for e in entries if isinstance(e, str)})
    maps = {json.dumps(e, sort_keys=True): e for e in entries if isinstance(e, dict)}
    return [*texts, *(maps[k] for k in sorted(maps))]


def _ref(ref: FileRef, secret: bool) -> dict[str, Any]:
    target = ref.target or ref.source
    if secret and not target.startswith("/"):
        target = f"{SECRETS_DIR}/{target}"
    target = clean_mountpoint(target)
    mode = ref.mode if ref.mode is not None else SECRET_MODE if secret else CONFIG_MODE
    return {"source": ref.source, "target": target, "uid": ref.uid, "gid": ref.gid, "mode": mode}


def fields(service: Service, given: set[str]) -> dict[str, Any]:
    """`given`: the model field names the manifest sets (`service.model_fields_set`)."""
    out: dict[str, Any] = {}
    for name, secret in (("configs", False), ("secrets", True)):
        if name in given:
            refs = [_ref(r, secret) for r in getattr(service, name) or []]
            out[name] = sorted(refs, key=lambda r: (r["target"], r["source"]))
    return out


MAX_TREE_BYTES = 256 * 1024 * 1024  # distinct content of files from git, configs and secrets


@dataclass
class Contents:
    """What one revision's manifests mount, shared by all its stacks: the trees by digest, the
    tree of each repository path (computed once), and their size in all (bounded)."""

    trees: dict[str, FileTree] = field(default_factory=dict)  # digest -> content
    paths: dict[str, FileTree | None] = field(default_factory=dict)
    size: int = 0

    def add(self, tree: FileTree, where: tuple[str, int]) -> FileTree:
        if tree.digest not in self.trees:
            self.size += sum(len(data) for _, data in tree.entries)
            if self.size > MAX_TREE_BYTES:
                message = f"the files this revision mounts exceed {MAX_TREE_BYTES} bytes in all"
                raise UnresolvedFile(where, message)
            self.trees[tree.digest] = tree
        return tree


@dataclass
class Revision:
    """The revision's files (repository path -> content), seen from a manifest's folder."""

    folder: str
    files: Mapping[str, bytes]
    contents: Contents = field(default_factory=Contents)

    @property
    def trees(self) -> dict[str, FileTree]:
        return self.contents.trees

    def path(self, relative: str) -> str | None:
        joined = posixpath.normpath(posixpath.join(self.folder, relative))
        return None if joined == ".." or joined.startswith("../") else joined

    def tree(self, path: str, where: tuple[str, int] = ("volumes", 0)) -> FileTree | None:
        """The file or folder at `path` (a repository path), None if the revision lacks it."""
        if path in self.contents.paths:
            return self.contents.paths[path]
        found: FileTree | None
        if path in self.files:
            found = FileTree((("", self.files[path]),))
        else:
            prefix = "" if path == "." else path + "/"
            entries = tuple(
                sorted((p[len(prefix) :], d) for p, d in self.files.items() if p.startswith(prefix))
            )
            found = FileTree(entries) if entries else None
        if found is not None:
            found = self.contents.add(found, where)
        self.contents.paths[path] = found
        return found

    def content(self, data: bytes, where: tuple[str, int]) -> FileTree:
        return self.contents.add(FileTree((("", data),)), where)


def _bind(entry: dict[str, Any], index: int, revision: Revision) -> str | dict[str, Any]:
    source = str(entry["source"])
    if source.startswith("/"):
        return entry
    path = revision.path(source)
    if path is None:
        raise UnresolvedFile(
            ("volumes", index), f"bind source {source[:60]!r} leaves the repository"
        )
    tree = revision.tree(path, ("volumes", index))
    if tree is None:  # not in the revision: a data folder in the project's file area
        relative = posixpath.normpath(source)
        if relative == ".." or relative.startswith("../"):
            raise UnresolvedFile(("volumes", index), f"data folder {source[:60]!r} must lie in the "
                             "manifest's folder")  # fmt: skip
        folder = "/" if relative == "." else "/" + relative
        mode = "ro" if entry["readOnly"] else "rw"
        return f"{folder}:{entry['target']}:{mode}"
    return {"type": "git", "source": path, "target": entry["target"], "readOnly": True,
            "digest": tree.digest}  # fmt: skip


def _file(
    name: str, index: int, ref: dict[str, Any], sources: Mapping[str, FileSource], rev: Revision
) -> dict[str, Any]:
    what = name.rstrip("s")
    found = sources.get(ref["source"])
    if found is None:
        raise UnresolvedFile((name, index), f"{what} {ref['source']!r} is not declared under the "
                         f"stack's '{name}'")  # fmt: skip
    if found.content is not None:
        tree = rev.content(found.content.encode(), (name, index))
    else:
        relative = found.file or ""
        path = rev.path(relative)
        if path is None:
            raise UnresolvedFile(
                (name, index), f"{what} file {relative[:60]!r} leaves the repository"
            )
        found_tree = rev.tree(path, (name, index))
        if found_tree is None or not found_tree.is_file:
            raise UnresolvedFile((name, index), f"{what} file {relative[:60]!r} is not a file of "
                             "the revision")  # fmt: skip
        tree = found_tree
    return {**ref, "digest": tree.digest}


def resolve(
    spec: dict[str, Any],
    revision: Revision,
    configs: Mapping[str, FileSource],
    secrets: Mapping[str, FileSource],
) -> dict[str, Any]:
    """`spec` with relative binds, configs and secrets resolved against the revision (their
    content lands in `revision.trees`); `UnresolvedFile` for the first that cannot be."""
    out = dict(spec)
    volumes = []
    for index, entry in enumerate(spec.get("volumes") or []):
        if isinstance(entry, dict) and entry.get("type") == "bind":
            volumes.append(_bind(entry, index, revision))
        else:
            volumes.append(entry)
    if "volumes" in spec:
        out["volumes"] = sort_mounts(volumes)
    for name, sources in (("configs", configs), ("secrets", secrets)):
        if name in spec:
            out[name] = [_file(name, i, r, sources, revision) for i, r in enumerate(spec[name])]
    return out


def named_changes(name: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """A changed field, with the files from git, configs and secrets whose content changed
    (`volumes (conf/nginx.conf changed)`): names only, never a value."""
    if name not in FILE_FIELDS:
        return name
    old = {(e.get("source"), e.get("target")): e.get("digest")
           for e in before.get(name) or [] if isinstance(e, dict)}  # fmt: skip
    changed = []
    for entry in after.get(name) or []:
        if not isinstance(entry, dict) or "digest" not in entry:
            continue
        key = (entry.get("source"), entry.get("target"))
        if key in old and old[key] != entry["digest"]:
            changed.append(str(entry["source"]))
    return f"{name} ({', '.join(sorted(set(changed)))} changed)" if changed else name
