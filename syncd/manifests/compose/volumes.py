"""A service's `volumes` (short `SOURCE:TARGET[:OPTIONS]`, `TARGET` alone, and the long form) in
Compose's meaning, and what syncd's `Stack` model carries of them today.

Compose's rules (compose-go `format/volume.go`): a source starting with `.`, `/` or `~` is a bind,
anything else names a volume declared under the top-level `volumes` (an undeclared one is an
error); options are `ro`, `rw`, `nocopy`, `z`, `Z` and the bind propagations. Unlike compose-go,
an unknown option is an error, never dropped. A `~` source (the home of whoever runs compose) has
no meaning for syncd: refused.

syncd's model carries a named volume (`name:/target[:ro]`, or the long form with `nocopy`) when
its name is one of syncd's (a DNS label) and the volume is syncd's own (not `external`), binds
(`{type: bind, source: ./x}`: a file or folder of the revision, mounted read-only - a `:rw` is
a warning - or a data folder in the project's file area when the revision lacks it; an absolute
source is a host path, policy `hostPaths`) and tmpfs mounts. SELinux relabels (`z`, `Z`) are
ignored with a warning (D7): syncd mounts through the Engine's Mounts API, which has none.
Anonymous volumes are honoured once the model carries them. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncd.manifests.compose.context import Context, Revision, clip, kind_of
from syncd.manifests.compose.provenance import IN_DOTENV
from syncd.manifests.compose.units import parse_bytes
from syncd.manifests.fields import clean_mountpoint, parse_mount
from syncd.manifests.mountsource import REFUSED, source_from_env
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


Entry = str | dict[str, Any]


def _bind(
    source: str,
    target: str,
    at: Path,
    ctx: Context,
    revision: Revision,
    *,
    read_only: bool | None,
    propagation: str | None = None,
) -> Entry | None:
    """A bind in the model's long form: from git (a relative source in the revision, read-only),
    a data folder (a relative one it lacks) or a host path (absolute: policy hostPaths)."""
    if source.startswith("~"):
        ctx.error(at, f"bind source {clip(source)!r}: '~' has no meaning for syncd; use a path")
        return None
    path = revision.resolve(source)
    if path is None and not source.startswith("/"):
        ctx.error(at, f"bind source {clip(source)!r} leaves the repository")
        return None
    if path is not None and not source.startswith("."):
        source = "./" + source
    if path is not None and revision.exists(path) and read_only is False:
        ctx.warn(at, f"{clip(source)!r} is a file or folder from git: mounted read-only "
                 "(the next revision replaces it)")  # fmt: skip
    out: dict[str, Any] = {"type": "bind", "source": source, "target": target,
                           "readOnly": bool(read_only)}  # fmt: skip
    if propagation is not None:
        out["bind"] = {"propagation": propagation}
    return out


def _named(
    source: str,
    target: str,
    *,
    read_only: bool,
    at: Path,
    ctx: Context,
    declared: Mapping[str, Any],
    nocopy: bool = False,
    from_env: bool = False,
) -> Entry | None:
    if from_env:
        ctx.error(at, f"{REFUSED}, or {IN_DOTENV}")
        return None
    if source not in declared:
        ctx.error(at, f"volume {clip(source)!r} is not declared under the top-level 'volumes'")
        return None
    native = f"{source}:{target}{':ro' if read_only else ''}"
    try:
        parse_mount(native)
    except ValueError as err:
        ctx.error(at, str(err))
        return None
    if nocopy:
        return {"type": "volume", "source": source, "target": target, "readOnly": read_only,
                "volume": {"nocopy": True}}  # fmt: skip
    return native


def _short(
    text: str,
    at: Path,
    ctx: Context,
    *,
    declared: Mapping[str, Any],
    revision: Revision,
) -> Entry | None:
    parts = text.split(":")
    if len(parts) > 3 or any(not part for part in parts):
        ctx.error(at, f"{clip(text)!r} is not SOURCE:TARGET[:OPTIONS] or TARGET (too many colons?)")
        return None
    if len(parts) == 1:  # an anonymous volume: syncd keeps one per service, replica and target
        return {"type": "volume", "target": text, "readOnly": False}
    source, target = parts[0], parts[1]
    options = parts[2].split(",") if len(parts) == 3 else []
    for option in options:
        if option not in OPTIONS:
            ctx.error(
                at, f"{clip(text)!r}: unknown option {clip(option)!r} (one of {sorted(OPTIONS)})"
            )
            return None
    if "z" in options or "Z" in options:
        ctx.warn(at, "SELinux relabel (z, Z) is ignored: syncd mounts through the Mounts API")
    modes = [o for o in options if o in ("ro", "rw")]
    read_only = (modes[-1] == "ro") if modes else None
    propagations = [o for o in options if o in PROPAGATIONS]
    if source.startswith((".", "/", "~")):
        if "nocopy" in options:
            ctx.error(at, f"{clip(text)!r}: nocopy applies to volumes only")
            return None
        propagation = propagations[-1] if propagations else None
        return _bind(source, target, at, ctx, revision, read_only=read_only,
                     propagation=propagation)  # fmt: skip
    if "/" in source:
        ctx.error(at, f"{clip(source)!r} is not a volume name; a relative bind starts with './'")
        return None
    if propagations:
        ctx.error(at, f"{clip(text)!r}: a propagation option applies to binds only")
        return None
    return _named(source, target, read_only=bool(read_only), at=at, ctx=ctx, declared=declared,
                  nocopy="nocopy" in options,
                  from_env=source_from_env(at, ctx.secrets, ctx.templates))  # fmt: skip


def _long(
    value: dict[str, Any],
    at: Path,
    ctx: Context,
    *,
    declared: Mapping[str, Any],
    revision: Revision,
) -> Entry | None:
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
        return _tmpfs(value, target, read_only, at, ctx)
    if kind == "bind":
        if not source:
            ctx.error((*at, "source"), "a bind needs 'source'")
            return None
        return _long_bind(
            value, source, target, read_only=read_only, at=at, ctx=ctx, revision=revision
        )
    options = value.get("volume") or {}
    if not isinstance(options, dict) or set(options) - {"nocopy", "labels"}:
        ctx.later((*at, "volume"), "volumes.options", "volume options other than nocopy and "
                  "labels (subpath: Engine API 1.45)")  # fmt: skip
        return None
    nocopy = options.get("nocopy", False)
    if not isinstance(nocopy, bool):
        ctx.error((*at, "volume", "nocopy"), f"expected true or false, got {kind_of(nocopy)}")
        return None
    labels = _labels(options.get("labels"), (*at, "volume", "labels"), ctx, named=bool(source))
    if not source:  # an anonymous volume
        anonymous: dict[str, Any] = {"type": "volume", "target": target, "readOnly": read_only}
        extra: dict[str, Any] = {"nocopy": True} if nocopy else {}
        if labels:
            extra["labels"] = labels
        if extra:
            anonymous["volume"] = extra
        return anonymous
    return _named(source, target, read_only=read_only, at=at, ctx=ctx, declared=declared,
                  nocopy=nocopy,
                  from_env=source_from_env(at, ctx.secrets, ctx.templates, long=True))  # fmt: skip


def _labels(value: Any, at: Path, ctx: Context, *, named: bool) -> dict[str, Any] | None:
    """`volume.labels` label the volume Docker makes for the mount: an anonymous one (syncd
    makes it with them); a named volume has its own, top-level `labels` (a warning)."""
    if value is None:
        return None
    given = dict(str(v).partition("=")[::2] for v in value) if isinstance(value, list) else value
    if not isinstance(given, dict):
        ctx.error(at, f"labels is a mapping, got {kind_of(value)}")
        return None
    if named:
        ctx.warn(at, "labels of a named volume are its top-level 'labels'; ignored here")
        return None
    return {str(k): _scalar(v) for k, v in given.items()}


def _tmpfs(value: dict[str, Any], target: str, read_only: bool, at: Path, ctx: Context) -> Entry:
    options = value.get("tmpfs") or {}
    out: dict[str, Any] = {"type": "tmpfs", "target": target, "readOnly": read_only}
    if not isinstance(options, dict):
        ctx.error((*at, "tmpfs"), f"expected a mapping, got {kind_of(options)}")
        return out
    tmpfs: dict[str, Any] = {}
    for key, option in options.items():
        here = (*at, "tmpfs", key)
        if key == "size":
            size = parse_bytes(option)
            if isinstance(size, str):
                ctx.error(here, size)
            else:
                tmpfs["size"] = size
        elif key == "mode":
            tmpfs["mode"] = option
        else:
            ctx.error(here, f"unknown key {key!r} in tmpfs (size, mode)", key=True)
    if tmpfs:
        out["tmpfs"] = tmpfs
    return out


def _long_bind(
    value: dict[str, Any],
    source: str,
    target: str,
    *,
    read_only: bool,
    at: Path,
    ctx: Context,
    revision: Revision,
) -> Entry | None:
    options = value.get("bind") or {}
    if not isinstance(options, dict):
        ctx.error((*at, "bind"), f"expected a mapping, got {kind_of(options)}")
        return None
    propagation = options.get("propagation")
    if propagation is not None and propagation not in PROPAGATIONS:
        ctx.error((*at, "bind", "propagation"), f"propagation is one of {sorted(PROPAGATIONS)}")
        return None
    for key in options:
        if key == "selinux":
            ctx.warn((*at, "bind", key), "SELinux relabel is ignored: syncd uses the Mounts API")
        elif key == "recursive":
            ctx.later((*at, "bind", key), "volumes.bind.recursive", "non-recursive binds")
            return None
        elif key not in ("propagation", "create_host_path"):
            ctx.error((*at, "bind", key), f"unknown key {key!r} in bind", key=True)
            return None
    written = "read_only" in value
    return _bind(source, target, at, ctx, revision, read_only=read_only if written else None,
                 propagation=propagation)  # fmt: skip


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
) -> list[tuple[Path, Entry]]:
    """The `volumes` strings of syncd's model for the mounts it can carry, each with where it
    was written; the rest is noted."""
    if not isinstance(value, list):
        ctx.error(at, f"volumes is a list, got {kind_of(value)}")
        return []
    out: list[tuple[Path, Entry]] = []
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


def read_declared(name: str, spec: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    """A top-level volume in syncd's model (`manifests.options.volumes`): `external` (with its
    Docker `name`, default the key), `driver`, `driver_opts` and `labels` as written (numbers
    and booleans become text, as in Compose). A syncd-created volume's `name` is Docker-global:
    syncd keeps its instance-scoped names (D30) and says so."""
    at: Path = ("volumes", name)
    out: dict[str, Any] = {}
    external = spec.get("external")
    if isinstance(external, dict):  # legacy `external: {name: x}`
        ctx.warn((*at, "external"), "external: {name: ...} is deprecated: use external: true "
                 "with name")  # fmt: skip
        out["external"] = True
        if "name" in external:
            out["name"] = external["name"]
    elif external is not None:
        out["external"] = external
    for key, value in spec.items():
        here = (*at, key)
        if key == "name":
            if out.get("external"):
                out.setdefault("name", value)
            else:
                ctx.warn(here, "name: syncd names the volume itself (per instance); ignored")
        elif key == "driver":
            out["driver"] = value
        elif key in ("driver_opts", "labels"):
            given = value
            if isinstance(given, list) and key == "labels":  # Compose's `[k=v]` form
                given = dict(str(v).partition("=")[::2] for v in given)
            if not isinstance(given, dict):
                ctx.error(here, f"{key} is a mapping, got {kind_of(given)}")
                continue
            out["driverOpts" if key == "driver_opts" else key] = {
                str(k): _scalar(v) for k, v in given.items()
            }
    return out


def _scalar(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int | float) else value
