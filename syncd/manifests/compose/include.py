"""Top-level `include`: other Compose files of the same revision add their services, volumes,
networks, configs and secrets to this file's stack, as Compose's `include` does.

Each entry is a path (or `{path}` with one path or a list), relative to the Compose file and
inside the repository. What an included file defines must not be defined again (by this file or
another included one): a located error, as in Compose. Relative paths of the included services
(`env_file`, `label_file`, bind sources) are rebased onto this file's folder. An included file is
read with this file's interpolation sources; `env_file` and `project_directory` of an entry,
a nested `include`, a URL, a file outside the repository or not in the revision are errors at
the entry. Included values are located at their entry. Pure: no I/O.
"""

from __future__ import annotations

import functools
import posixpath
from typing import Any

from syncd.manifests.compose.context import Context, Revision, clip, kind_of
from syncd.manifests.compose.extends import rebase
from syncd.manifests.yamlsafe import Path, Schema, load
from syncd.settings import DEFAULT_LIMITS, Limits

SECTIONS = ("services", "volumes", "networks", "configs", "secrets")
MAX_INCLUDED = 32  # files one Compose file may include


@functools.lru_cache(maxsize=8)  # at most 8 files of at most max_file_bytes
def _body_of(path: str, data: bytes, limits: Limits) -> dict[str, Any] | None:
    documents, problems = load(path, data, limits, schema=Schema.COMPOSE)
    body = documents[0].data if len(documents) == 1 and not problems else None
    return body if isinstance(body, dict) else None


def _paths(entry: Any, at: Path, ctx: Context) -> list[str]:
    if isinstance(entry, str):
        return [entry]
    if not isinstance(entry, dict):
        ctx.error(at, f"an include entry is a path or {{path: ...}}, got {kind_of(entry)}")
        return []
    for key in entry:
        if key != "path":
            why = "is not supported" if key in ("env_file", "project_directory") else "is unknown"
            ctx.error((*at, key), f"include.{key} {why}: syncd reads included files with this "
                                  "file's variables, from its folder")  # fmt: skip
            return []
    paths = entry.get("path")
    if isinstance(paths, str):
        return [paths]
    if isinstance(paths, list) and paths and all(isinstance(p, str) for p in paths):
        return list(paths)
    ctx.error(at, "include needs 'path': a path or a list of paths")
    return []


def _file(relative: str, at: Path, ctx: Context, revision: Revision, limits: Limits) -> Any:
    resolved = revision.resolve(relative)
    if "://" in relative or "$" in relative or resolved is None:
        ctx.error(
            at,
            f"{clip(relative)!r} is not a file of the repo: include reads only files of the "
            "same revision, by a path relative to the file, without variables",
        )
        return None, None
    data = revision.read(resolved)
    body = _body_of(resolved, data, limits) if data is not None else None
    if body is None:
        why = "is not in the revision" if data is None else "is not a Compose file (a mapping)"
        ctx.error(at, f"included file {clip(relative)!r} {why}")
        return None, None
    if "include" in body:
        ctx.error(at, f"{clip(relative)!r} includes other files: nested include is not supported")
        return None, None
    return resolved, body


def resolve_include(
    raw: dict[str, Any], ctx: Context, revision: Revision, limits: Limits = DEFAULT_LIMITS
) -> frozenset[str]:
    """Adds what `raw["include"]` names to `raw` (in place, `include` removed); returns the
    files read (data, not manifests: D19b)."""
    value = raw.pop("include", None)
    if value is None:
        return frozenset()
    if not isinstance(value, list):
        ctx.error(("include",), f"include is a list of files, got {kind_of(value)}")
        return frozenset()
    read: set[str] = set()
    origin: dict[tuple[str, str], str] = {}
    for index, entry in enumerate(value):
        at: Path = ("include", index)
        for relative in _paths(entry, at, ctx):
            if len(read) >= MAX_INCLUDED:
                ctx.error(at, f"include names more than {MAX_INCLUDED} files")
                return frozenset(read)
            path, body = _file(relative, at, ctx, revision, limits)
            if path is None:
                continue
            read.add(path)
            _add(raw, body, (path, revision.folder), at, ctx, origin=origin)
    return frozenset(read)


def _add(
    raw: dict[str, Any],
    body: dict[str, Any],
    files: tuple[str, str],
    at: Path,
    ctx: Context,
    *,
    origin: dict[tuple[str, str], str],
) -> None:
    """`body` (of the included file) into `raw`; `files`: (included file, this file's folder)."""
    path, folder = files
    where = ctx.position(at)
    for section in SECTIONS:
        members = body.get(section)
        if not isinstance(members, dict):
            continue
        target = raw.setdefault(section, {})
        if not isinstance(target, dict):
            continue  # reported by the reader
        for name, member in members.items():
            if name in target:
                first = origin.get((section, name), ctx.path)
                ctx.error(at, f"{section[:-1]} {clip(str(name))!r} of {clip(path)} is already "
                              f"defined in {first}")  # fmt: skip
                continue
            moved = section == "services" and isinstance(member, dict)
            target[name] = rebase(member, posixpath.dirname(path), folder) if moved else member
            origin[(section, name)] = path
            ctx.positions.values[(section, name)] = where
            ctx.positions.keys[(section, name)] = where
