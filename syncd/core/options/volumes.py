"""The canonical form of a stack's volumes (`manifests.options.volumes`) and of the two mounts
that need the stack to be known: external and anonymous volumes. Pure: no I/O.

- A volume syncd creates is declared by `declaration`: `{driver, driverOpts, labels}` with
  Docker's defaults made explicit (`local`, `{}`, `{}`).
- A mount of an external volume becomes `{type: external, source: <Docker name>, volume: <key>,
  target, readOnly}` (`resolve`): the engine uses the volume by that name, never creates it.
- An anonymous volume (`/var/lib/data` in Compose, `{type: volume, target}` without source)
  is `{type: anonymous, target, readOnly}` in the service's spec; syncd keeps it as a volume of
  the stack named after the service, the target and the replica (`anonymous_name`), so it lives
  on across recreates (as Compose copies anonymous volumes over) and is orphan-reported, never
  deleted, once no service uses it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterator, Mapping
from typing import Any

from syncd.errors import UnresolvedFile
from syncd.manifests.fields import MountKind, parse_mount
from syncd.manifests.options.volumes import Volume

LOCAL = "local"
ANONYMOUS = "anonymous"
EXTERNAL = "external"
ANONYMOUS_PREFIX = "_anon."  # `_` first: never a declared volume's name (they start alnum)
MAX_ANONYMOUS_REPLICAS = 1000
MAX_ANONYMOUS_VOLUMES = 4096  # per service: anonymous mounts x replicas (each its own volume)
PLAIN: Mapping[str, Any] = {
    "driver": LOCAL,
    "driverOpts": {},
    "labels": {},
}  # Docker's default  # more replicas than this share replica 1000's volume: bounded


def declaration(volume: Volume) -> dict[str, Any]:
    """What syncd creates a (non-external) volume with."""
    return {
        "driver": volume.driver or LOCAL,
        "driverOpts": dict(sorted((volume.driver_opts or {}).items())),
        "labels": dict(sorted((volume.labels or {}).items())),
    }


def anonymous_name(service: str, target: str, replica: int = 1) -> str:
    """The stack volume that holds `service`'s anonymous volume at `target` for `replica`."""
    digest = hashlib.sha256(f"{service}\0{target}".encode()).hexdigest()[:12]
    suffix = "" if replica <= 1 else f".{min(replica, MAX_ANONYMOUS_REPLICAS)}"
    return f"{ANONYMOUS_PREFIX}{digest}{suffix}"


def _replicas(spec: Mapping[str, Any]) -> int:
    return min(max(int(spec.get("replicas", 1)), 1), MAX_ANONYMOUS_REPLICAS)


def anonymous_declarations(service: str, spec: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The stack volumes `service`'s anonymous mounts use, for each replica it runs (at least
    one: a service at `replicas: 0` keeps its volumes), each with its declaration; at most
    `MAX_ANONYMOUS_VOLUMES` (`resolve` refuses a spec that would need more)."""
    replicas = _replicas(spec)
    out: dict[str, dict[str, Any]] = {}
    for entry in spec.get("volumes") or []:
        if isinstance(entry, Mapping) and entry.get("type") == ANONYMOUS:
            declared = {**PLAIN, "labels": dict(entry.get("labels") or {})}
            for replica in range(1, replicas + 1):
                if len(out) >= MAX_ANONYMOUS_VOLUMES:
                    return out
                out[anonymous_name(service, str(entry["target"]), replica)] = declared
    return out


def _check_anonymous(spec: Mapping[str, Any]) -> None:
    """`UnresolvedFile` at the anonymous mount that would take the service's volumes (one per
    mount and replica) past `MAX_ANONYMOUS_VOLUMES`."""
    replicas, count = _replicas(spec), 0
    for index, entry in enumerate(spec.get("volumes") or []):
        if isinstance(entry, Mapping) and entry.get("type") == ANONYMOUS:
            count += replicas
            if count > MAX_ANONYMOUS_VOLUMES:
                raise UnresolvedFile(
                    ("volumes", index),
                    f"more than {MAX_ANONYMOUS_VOLUMES} anonymous volumes (one per anonymous "
                    f"mount and replica, {replicas} replicas): use a volume of the stack",
                )


def anonymous_volumes(service: str, spec: Mapping[str, Any]) -> Iterator[str]:
    """The names of `anonymous_declarations`."""
    yield from anonymous_declarations(service, spec)


def _external(entry: Any, declared: Mapping[str, Volume]) -> Any:
    if isinstance(entry, str):
        mount = parse_mount(entry)
        source, target, read_only, nocopy = mount.source, mount.target, mount.read_only, False
    elif isinstance(entry, Mapping) and entry.get("type") == "volume":
        source, target = str(entry["source"]), str(entry["target"])
        read_only, nocopy = bool(entry.get("readOnly")), bool(entry.get("nocopy"))
    else:
        return entry
    volume = declared.get(source)
    if volume is None or not volume.external:
        return entry
    out: dict[str, Any] = {"type": EXTERNAL, "source": volume.engine_name(source),
                           "volume": source, "target": target, "readOnly": read_only}  # fmt: skip
    if nocopy:
        out["nocopy"] = True
    return out


def resolve(spec: dict[str, Any], declared: Mapping[str, Volume]) -> dict[str, Any]:
    """`spec` with its mounts of external volumes in their canonical form (`EXTERNAL`);
    `UnresolvedFile` when it has too many anonymous volumes."""
    _check_anonymous(spec)
    if not spec.get("volumes") or not any(v.external for v in declared.values()):
        return spec
    return {**spec, "volumes": [_external(e, declared) for e in spec["volumes"]]}


def differences(declared: Mapping[str, Any], live: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The declaration's fields an existing volume has otherwise (names only, never values);
    none when the live volume's are unknown."""
    if live is None:
        return ()
    return tuple(k for k in ("driver", "driverOpts", "labels") if declared.get(k) != live.get(k))


def data_folders(spec: Mapping[str, Any], secrets: Collection[str] = ()) -> set[str]:
    """The project-files folders (data folders, `/uploads`) a service's spec mounts; one whose
    text came from the environment (a tainted pointer) is left out: it is never shown."""
    out = set()
    for index, entry in enumerate(spec.get("volumes") or []):
        if not isinstance(entry, str) or any(
            p == f"/volumes/{index}" or p.startswith(f"/volumes/{index}/") for p in secrets
        ):
            continue
        try:
            mount = parse_mount(entry)
        except ValueError:  # a stored spec syncd can no longer read: not a folder it knows
            continue
        if mount.kind is MountKind.PROJECT_FILES:
            out.add(mount.source)
    return out


def tainted_mounts(spec: Mapping[str, Any], volumes: Collection[Any]) -> set[str]:
    """The pointers of the mounts of external volumes whose declaration came from the
    environment (`volumes`: their keys): the Docker name is redacted wherever it is shown."""
    return {
        f"/volumes/{index}"
        for index, entry in enumerate(spec.get("volumes") or [])
        if isinstance(entry, Mapping)
        and entry.get("type") == EXTERNAL
        and entry.get("volume") in volumes
    }
