"""`extends`: a service inherits another service's definition, from the same Compose file
(`extends: base`) or from another file of the revision (`extends: {service, file}`, the path
relative to the file that names it). Runs on the file as written, before interpolation, so the
inherited values are interpolated (and tainted) like the service's own.

Compose's merge rules (the Compose Specification, "Merge"): mappings merge by key, the service's
own value winning; `command`, `entrypoint` and `healthcheck.test` are replaced; `environment`,
`labels`, `sysctls`, `annotations`, `depends_on`, `networks`, `extra_hosts` and `ulimits` merge by
name whatever their form (list or mapping); `volumes` (by target), `ports` (by host ip, target,
published port and protocol), `secrets` and `configs` (by source) merge entries that share their
key; other lists are appended (an entry already there is not repeated). Relative paths of a
service from another folder (`env_file`, `label_file`, bind sources) are rebased onto the Compose
file's folder. A file outside the repository, a URL, a missing file or service, a cycle and a
chain deeper than `MAX_DEPTH` are errors at the `extends` that names them. Values inherited from
another file are located at that `extends`. Pure: no I/O.
"""

from __future__ import annotations

import functools
import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from syncd.manifests.compose.context import Context, Revision, clip, kind_of
from syncd.manifests.parse import suggest
from syncd.manifests.yamlsafe import Path, Schema, load
from syncd.problems import Position
from syncd.settings import DEFAULT_LIMITS, Limits

MAX_DEPTH = 10  # services in one chain of extends
REPLACED = frozenset({"command", "entrypoint"})
NAMED = frozenset(
    {
        "environment", "labels", "sysctls", "annotations", "depends_on", "networks",
        "extra_hosts", "ulimits",
    }
)  # fmt: skip
UNIQUE = frozenset({"volumes", "ports", "secrets", "configs"})
Spots = dict[Path, tuple[Position, Position | None]]  # path in a service -> value, key position


@dataclass(frozen=True)
class Resolved:
    value: dict[str, Any]
    spots: Spots


@dataclass
class _Walk:
    ctx: Context
    revision: Revision
    services: Mapping[str, Any]
    limits: Limits
    done: dict[tuple[str, str], Resolved | None] = field(default_factory=dict)
    files: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    nodes: int = 0


def _own_spots(ctx: Context, at: Path) -> Spots:
    """The positions of a service of the Compose file itself, relative to the service."""
    size = len(at)
    spots: Spots = {}
    for path, position in ctx.positions.values.items():
        if path[:size] == at:
            spots[path[size:]] = (position, ctx.positions.keys.get(path))
    return spots


def _sub(spots: Spots, prefix: Path, into: Path) -> Spots:
    """The positions under `prefix`, moved to `into`; `into` itself at least at the nearest
    known ancestor of `prefix` (a value from another file: the `extends` that names it)."""
    size = len(prefix)
    out = {into + p[size:]: s for p, s in spots.items() if p[:size] == prefix}
    if into not in out:
        parts = prefix
        while parts and parts not in spots:
            parts = parts[:-1]
        if parts in spots:
            out[into] = spots[parts]
    return out


def _as_mapping(key: str, value: Any) -> tuple[dict[str, Any], dict[str, Path]] | None:
    """A list form (`K=V`, `K`, `name`) as a mapping, with each name's index in the list."""
    if isinstance(value, dict):
        return dict(value), {str(k): (k,) for k in value}
    if not isinstance(value, list):
        return None
    out: dict[str, Any] = {}
    origin: dict[str, Path] = {}
    for index, item in enumerate(value):
        text = str(item)
        entry: Any
        if key == "depends_on":
            name, entry = text, {"condition": "service_started"}
        elif key == "networks":
            name, entry = text, None
        elif key == "extra_hosts":
            sep = "=" if "=" in text else ":"
            name, _, host = text.partition(sep)
            entry = host
        else:
            name, eq, rest = text.partition("=")
            entry = rest if eq else None
        out[name] = entry
        origin[name] = (index,)
    return out, origin


def _unique_key(key: str, item: Any) -> object:
    if isinstance(item, dict):
        if key == "volumes":
            return item.get("target")
        if key == "ports":
            fields = ("host_ip", "target", "published", "protocol")
            return tuple(str(item.get(f)) for f in fields)
        return item.get("source")
    text = str(item)
    if key == "volumes":
        parts = text.split(":")
        return parts[1] if len(parts) > 1 else parts[0]
    return text


@dataclass(frozen=True)
class _Side:
    """One side of a merge: its value and where its parts stand (paths relative to the
    service, already at the merged place); `names`: a mapping's entries -> their path below."""

    value: Any
    spots: Spots
    names: Mapping[str, Path] = field(default_factory=dict)


def _merge(key: str, base: _Side, own: _Side, at: Path, out: Spots) -> Any:
    """`own` over `base` at `at` (a path inside the service), filling `out` with positions."""
    b, o = base.value, own.value
    if key in REPLACED or at == ("healthcheck", "test"):
        out.update(_sub(own.spots, at, at))
        return o
    both_lists = isinstance(b, list) and isinstance(o, list)
    if key in NAMED and isinstance(b, dict | list) and isinstance(o, dict | list):
        mb, mo = _as_mapping(key, b), _as_mapping(key, o)
        if mb is not None and mo is not None and not (both_lists and key == "extra_hosts"):
            left, right = _Side(mb[0], base.spots, mb[1]), _Side(mo[0], own.spots, mo[1])
            return _merge_maps(key, left, right, at, out)
    if isinstance(b, dict) and isinstance(o, dict):
        left = _Side(b, base.spots, {k: (k,) for k in b})
        right = _Side(o, own.spots, {k: (k,) for k in o})
        return _merge_maps(key, left, right, at, out)
    if both_lists:
        return _merge_lists(key, base, own, at, out)
    out.update(_sub(own.spots, at, at))
    return o


def _anchor(bs: Spots, os: Spots, at: Path, out: Spots) -> None:
    """The merged value `at` stands where the service wrote it, else where the base did."""
    spot = _sub(os, at, at).get(at) or _sub(bs, at, at).get(at)
    if spot is not None:
        out[at] = spot


def _merge_maps(key: str, base: _Side, own: _Side, at: Path, out: Spots) -> dict[str, Any]:
    bv, ov = base.value, own.value
    result: dict[str, Any] = {}
    for name in [*bv, *(n for n in ov if n not in bv)]:
        here = (*at, name)
        if name in ov and name in bv and key not in NAMED:
            left = _Side(bv[name], _sub(base.spots, (*at, *base.names[name]), here))
            right = _Side(ov[name], _sub(own.spots, (*at, *own.names[name]), here))
            result[name] = _merge(str(name), left, right, here, out)
        elif name in ov:
            result[name] = ov[name]
            out.update(_sub(own.spots, (*at, *own.names[name]), here))
        else:
            result[name] = bv[name]
            out.update(_sub(base.spots, (*at, *base.names[name]), here))
    _anchor(base.spots, own.spots, at, out)
    return result


def _merge_lists(key: str, base: _Side, own: _Side, at: Path, out: Spots) -> list[Any]:
    unique = key in UNIQUE and len(at) == 1
    result: list[Any] = []
    origin: list[tuple[Spots, Path]] = []
    index: dict[object, int] = {}
    for side in (base, own):
        for i, item in enumerate(side.value):
            mark = _unique_key(key, item) if unique else repr(item)
            if mark in index and (unique or not isinstance(item, dict | list)):
                if unique:
                    result[index[mark]] = item
                    origin[index[mark]] = (side.spots, (*at, i))
                continue
            index[mark] = len(result)
            result.append(item)
            origin.append((side.spots, (*at, i)))
    for position, (spots, source) in enumerate(origin):
        out.update(_sub(spots, source, (*at, position)))
    _anchor(base.spots, own.spots, at, out)
    return result


def rebase(service: dict[str, Any], source: str, target: str) -> dict[str, Any]:
    """Relative paths of a service written in folder `source`, as seen from folder `target`."""
    if source == target:
        return service

    def move(path: str) -> str:
        if path.startswith(("/", "~", "$")):
            return path
        moved = posixpath.relpath(posixpath.join(source or ".", path), target or ".")
        return moved if moved.startswith(".") else "./" + moved

    out = dict(service)
    for key in ("env_file", "label_file"):
        value = out.get(key)
        if isinstance(value, str):
            out[key] = move(value)
        elif isinstance(value, list):
            out[key] = [
                move(v) if isinstance(v, str)
                else {**v, "path": move(v["path"])} if isinstance(v, dict)
                and isinstance(v.get("path"), str) else v
                for v in value
            ]  # fmt: skip
    volumes = out.get("volumes")
    if isinstance(volumes, list):
        out["volumes"] = [_rebase_mount(item, move) for item in volumes]
    return out


def _rebase_mount(item: Any, move: Callable[[str], str]) -> Any:
    if isinstance(item, str) and item.startswith(".") and ":" in item:
        source, _, rest = item.partition(":")
        return f"{move(source)}:{rest}"
    found = item.get("source") if isinstance(item, dict) else None
    if isinstance(found, str) and found.startswith(".") and item.get("type") == "bind":
        return {**item, "source": move(found)}
    return item


@functools.lru_cache(maxsize=8)  # at most 8 files of at most max_file_bytes
def _services_of(path: str, data: bytes, limits: Limits) -> dict[str, Any] | None:
    """The `services` of another Compose file, parsed once for every file that extends it (a
    shared `common.yml`): read-only, merging copies what it changes."""
    documents, problems = load(path, data, limits, schema=Schema.COMPOSE)
    body = documents[0].data if len(documents) == 1 and not problems else None
    found = body.get("services") if isinstance(body, dict) else None
    return found if isinstance(found, dict) else None


def _load(walk: _Walk, path: str) -> dict[str, Any] | None:
    if path not in walk.files:
        data = walk.revision.read(path)
        walk.files[path] = None if data is None else _services_of(path, data, walk.limits)
    return walk.files[path]


def _target(walk: _Walk, value: Any, here: Path, file: str) -> tuple[str, str] | None:
    """The (file, service) an `extends` value names, or None (reported)."""
    ctx = walk.ctx
    if isinstance(value, str) and "$" in value:
        ctx.error(here, "extends takes no variables: name the service as written")
        return None
    if isinstance(value, str):
        return (file, value)
    if not isinstance(value, dict):
        ctx.error(here, f"extends is a service name or {{service, file}}, got {kind_of(value)}")
        return None
    name = value.get("service")
    for key in value:
        if key not in ("service", "file"):
            ctx.error((*here, key), f"unknown key {key!r}{suggest(key, ['service', 'file'])}")
            return None
    if not isinstance(name, str):
        ctx.error(here, "extends needs 'service', the name of the service to extend")
        return None
    relative = value.get("file")
    if relative is None:
        return (file, name)
    where = (*here, "file")
    if not isinstance(relative, str) or not relative:
        ctx.error(where, f"extends.file is a path in the repo, got {kind_of(relative)}")
        return None
    if "$" in relative or "$" in name:
        ctx.error(here, "extends takes no variables: name the file and service as written")
        return None
    folder = posixpath.dirname(file)
    resolved = Revision(folder, walk.revision.files).resolve(relative)
    if "://" in relative or resolved is None:
        ctx.error(where, f"{clip(relative)!r} is not a file of the repo: extends reads only "
                         "files of the same revision, by a path relative to the file")  # fmt: skip
        return None
    if _load(walk, resolved) is None:
        exists = walk.revision.read(resolved) is not None
        why = "is not a Compose file with 'services'" if exists else "is not in the revision"
        ctx.error(where, f"{clip(relative)!r} {why}")
        return None
    return (resolved, name)


def _resolve(walk: _Walk, file: str, name: str, chain: list[tuple[str, str]],
             at: Path) -> Resolved | None:  # fmt: skip
    """The service `name` of `file` with its `extends` merged in. `at`: where errors go (the
    service itself in the Compose file, else the `extends` that led to another file)."""
    key = (file, name)
    if key in walk.done:
        return walk.done[key]
    main = file == walk.ctx.path
    service = (walk.services if main else _load(walk, file) or {}).get(name)
    if not isinstance(service, dict):
        return None
    own_at = ("services", name) if main else at
    spots: Spots = _own_spots(walk.ctx, own_at) if main else {(): (walk.ctx.position(at), None)}
    if "extends" not in service:
        walk.done[key] = Resolved(service, spots)
        return walk.done[key]
    here = (*own_at, "extends") if main else at
    target = _target(walk, service["extends"], here, file)
    result: Resolved | None = None
    if target is not None:
        services = walk.services if target[0] == walk.ctx.path else _load(walk, target[0]) or {}
        if target in chain or target == key:
            cycle = " -> ".join(n for _f, n in [*chain, key, target])
            walk.ctx.error(here, f"extends cycle: {cycle}")
        elif len(chain) + 1 >= MAX_DEPTH:
            walk.ctx.error(here, f"extends chains more than {MAX_DEPTH} services")
        elif not isinstance(services.get(target[1]), dict):
            hint = suggest(target[1], [str(s) for s in services])
            walk.ctx.error(here, f"extends names service {clip(target[1])!r}, not in "
                                 f"{posixpath.basename(target[0])}{hint}")  # fmt: skip
        else:
            base = _resolve(walk, target[0], target[1], [*chain, key], here)
            if base is not None:
                own = Resolved({k: v for k, v in service.items() if k != "extends"}, spots)
                result = _combine(walk, base, own, (target[0], file), here)
    walk.done[key] = result
    return result


def _combine(
    walk: _Walk, base: Resolved, own: Resolved, files: tuple[str, str], here: Path
) -> Resolved | None:
    """`own` (a service, without its `extends`) over its `base`; `files`: (base's, own's)."""
    value = rebase(base.value, posixpath.dirname(files[0]), posixpath.dirname(files[1]))
    out: Spots = {}
    merged = _merge("", _Side(value, base.spots), _Side(own.value, own.spots), (), out)
    walk.nodes += _count(merged)
    if walk.nodes > walk.limits.max_nodes:
        walk.ctx.error(here, f"extends makes more than {walk.limits.max_nodes} values")
        return None
    return Resolved(merged, out)


def _count(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + sum(_count(v) for v in value.values())
    if isinstance(value, list):
        return 1 + sum(_count(v) for v in value)
    return 1


def resolve_extends(
    services: dict[str, Any], ctx: Context, revision: Revision, limits: Limits = DEFAULT_LIMITS
) -> tuple[dict[str, Any], frozenset[str]]:
    """`services` (of the Compose file at `ctx.path`) with every `extends` merged in, the
    positions of the merged values recorded in `ctx.positions`, and the other files read (data
    for the Compose file, not manifests: D19b). A service whose `extends` is in error keeps its
    `extends` (the reader then leaves it out; the error is reported)."""
    if not any(isinstance(s, dict) and "extends" in s for s in services.values()):
        return services, frozenset()
    walk = _Walk(ctx, revision, services, limits)
    out: dict[str, Any] = {}
    for name, service in services.items():
        if not isinstance(service, dict) or "extends" not in service:
            out[name] = service
            continue
        resolved = _resolve(walk, ctx.path, name, [], ("services", name))
        if resolved is None:
            out[name] = service
            continue
        out[name] = resolved.value
        at = ("services", name)
        for path, (value, key) in resolved.spots.items():
            ctx.positions.values[(*at, *path)] = value
            if key is not None:
                ctx.positions.keys[(*at, *path)] = key
    return out, frozenset(walk.files)
