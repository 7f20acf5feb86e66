"""A service's `volumes` (short `SOURCE:TARGET[:OPTIONS]`, `TARGET` alone, and the long form) in
Compose's meaning, and what syncd's `Stack` model carries of them today.

Compose's rules (compose-go `format/volume.go`): a source starting with `.`, `/` or `~` is a bind,
anything else names a volume declared under the top-level `volumes` (an undeclared one is an
error); options are `ro`, `rw`, `nocopy`, `z`, `Z` and the bind propagations. Unlike compose-go,
an unknown option is an error, never dropped. A `~` source (the home of whoever runs compose) has
no meaning for syncd: refused.

syncd's model carries a named volume mounted read-write or read-only (`name:/target[:ro]`), when
the volume's name is one of its names (a DNS label) and the volume is syncd's own (not
`external`). Anonymous volumes, binds (files from git, data folders, host paths), tmpfs and the
volume options are honoured once the model carries them. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncd.manifests.compose.context import Context, Revision, clip, kind_of
from syncd.manifests.fields import clean_mountpoint, parse_mount
from syncd.manifests.yamlsafe import Path

PROPAGATIONS = frozenset({"private", "rprivate", "shared", "rshared", "slave", "rslave"})
OPTIONS = frozenset({"ro", "rw", "nocopy", "z", "Z"}) | PROPAGATIONS
TYPES = frozenset({"volume", "bind", "tmpfs", "npipe", "cluster", "image"})
_LONG_KEYS = frozenset(
    {"type", "source", "target", "read_only", "consistency", "bind", "volume", "tmpfs", "image"}
)
_NEVER = {
    "npipe": "a Windows named pipe",
    "cluster": "a Swarm cluster volume",
}


def _bind(source: str, at: Path, ctx: Context, revision: Revision) -> None:
    """Note a bind: `git` (a relative source in the revision), `data` (one not in it) or `host`
    (an absolute path)."""
    if source.startswith("~"):
        ctx.error(at, f"bind source {clip(source)!r}: '~' has no meaning for syncd; use a path")
        return
    path = revision.resolve(source)
    if path is None and not source.startswith("/"):
        ctx.error(at, f"bind source {clip(source)!r} leaves the repository")
        return
    origin = "host" if path is None else "git" if revision.exists(path) else "data"
    why = {
        "git": "a file or folder from the revision, mounted read-only",
        "data": "a persistent data folder in the project's file area",
        "host": "a host path (policy: hostPaths)",
    }[origin]
    ctx.later(at, f"volumes.bind.{origin}", why)


def _named(
    source: str,
    target: str,
    *,
    read_only: bool,
    at: Path,
    ctx: Context,
    declared: Mapping[str, Any],
) -> str | None:
    if source not in declared:
        ctx.error(at, f"volume {clip(source)!r} is not declared under the top-level 'volumes'")
        return None
    spec = declared[source]
    if isinstance(spec, dict) and spec.get("external"):
        ctx.later(at, "volumes.external", "a volume syncd neither creates nor deletes")
        return None
    native = f"{source}:{target}{':ro' if read_only else ''}"
    try:
        parse_mount(native)
    except ValueError as err:
        ctx.error(at, str(err))
        return None
    return native


def _short(
    text: str,
    at: Path,
    ctx: Context,
    *,
    declared: Mapping[str, Any],
    revision: Revision,
) -> str | None:
    parts = text.split(":")
    if len(parts) > 3 or any(not part for part in parts):
        ctx.error(at, f"{clip(text)!r} is not SOURCE:TARGET[:OPTIONS] or TARGET (too many colons?)")
        return None
    if len(parts) == 1:
        ctx.later(at, "volumes.anonymous", "an anonymous volume")
        return None
    source, target = parts[0], parts[1]
    options = parts[2].split(",") if len(parts) == 3 else []
    for option in options:
        if option not in OPTIONS:
            ctx.error(
                at, f"{clip(text)!r}: unknown option {clip(option)!r} (one of {sorted(OPTIONS)})"
            )
            return None
    if source.startswith((".", "/", "~")):
        _bind(source, at, ctx, revision)
        return None
    if "/" in source:
        ctx.error(at, f"{clip(source)!r} is not a volume name; a relative bind starts with './'")
        return None
    if any(o in PROPAGATIONS for o in options):
        ctx.error(at, f"{clip(text)!r}: a propagation option applies to binds only")
        return None
    if "nocopy" in options or "z" in options or "Z" in options:
        ctx.later(at, "volumes.options", "volume options (nocopy, SELinux relabel)")
        return None
    read_only = bool(options) and [o for o in options if o in ("ro", "rw")][-1:] == ["ro"]
    return _named(source, target, read_only=read_only, at=at, ctx=ctx, declared=declared)


def _long(
    value: dict[str, Any],
    at: Path,
    ctx: Context,
    *,
    declared: Mapping[str, Any],
    revision: Revision,
) -> str | None:
    for key in value:
        if key not in _LONG_KEYS and not key.startswith("x-"):
            ctx.error((*at, key), f"unknown key {key!r} in a volume", key=True)
            return None
    kind, source, target = value.get("type"), value.get("source"), value.get("target")
    if kind not in TYPES:
        ctx.error((*at, "type"), f"type must be one of {', '.join(sorted(TYPES))}")
        return None
    if not isinstance(target, str) or not target:
        ctx.error((*at, "target"), "a volume needs 'target', the path in the container")
        return None
    if source is not None and not isinstance(source, str):
        ctx.error((*at, "source"), f"expected a string, got {kind_of(source)}")
        return None
    if kind in _NEVER:
        ctx.error((*at, "type"), f"type {kind!r} is {_NEVER[kind]}: not on a Docker host")
        return None
    read_only = value.get("read_only", False)
    if not isinstance(read_only, bool):
        ctx.error((*at, "read_only"), f"expected true or false, got {kind_of(read_only)}")
        return None
    if kind == "image":
        ctx.later((*at, "type"), "volumes.image", "an image mount (Engine API 1.47)")
        return None
    if kind == "tmpfs":
        if source is not None:
            ctx.error((*at, "source"), "a tmpfs mount takes no 'source'")
            return None
        ctx.later(at, "volumes.tmpfs", "a tmpfs mount")
        return None
    if kind == "bind":
        if not source:
            ctx.error((*at, "source"), "a bind needs 'source'")
            return None
        _bind(source, at, ctx, revision)
        return None
    if not source:
        ctx.later(at, "volumes.anonymous", "an anonymous volume")
        return None
    if value.get("volume"):
        ctx.later((*at, "volume"), "volumes.options", "volume options (nocopy, subpath, labels)")
        return None
    return _named(source, target, read_only=read_only, at=at, ctx=ctx, declared=declared)


def _target_problem(target: str) -> str | None:
    if not target.startswith("/"):
        return f"the mountpoint {clip(target)!r} must be an absolute path"
    if any(part == ".." for part in target.split("/")):
        return "'..' is not allowed in the mountpoint"
    if clean_mountpoint(target) == "/":
        return "the mountpoint cannot be '/' (Docker refuses it)"
    return None


def _target(item: object) -> str | None:
    if isinstance(item, str):
        parts = item.split(":")
        if len(parts) > 3 or not all(parts):
            return None  # not SOURCE:TARGET[:OPTIONS]: `_short` says so
        return parts[1] if len(parts) > 1 else parts[0]
    target = item.get("target") if isinstance(item, dict) else None
    return target if isinstance(target, str) and target else None


def read_volumes(
    value: object,
    at: Path,
    ctx: Context,
    *,
    declared: Mapping[str, Any],
    revision: Revision,
) -> list[tuple[Path, str]]:
    """The `volumes` strings of syncd's model for the mounts it can carry, each with where it
    was written; the rest is noted."""
    if not isinstance(value, list):
        ctx.error(at, f"volumes is a list, got {kind_of(value)}")
        return []
    out: list[tuple[Path, str]] = []
    for index, item in enumerate(value):
        here = (*at, index)
        target = _target(item)
        problem = _target_problem(target) if target is not None else None
        if problem is not None:
            ctx.error(here, f"{clip(target or '')!r}: {problem}")
            continue
        if isinstance(item, str):
            native = _short(item, here, ctx, declared=declared, revision=revision)
        elif isinstance(item, dict):
            native = _long(item, here, ctx, declared=declared, revision=revision)
        else:
            ctx.error(here, f"a volume is a string or a mapping, got {kind_of(item)}")
            continue
        if native is not None:
            out.append((here, native))
    return out
