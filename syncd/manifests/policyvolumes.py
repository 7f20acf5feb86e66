"""A stack's top-level volumes against the operator's policy (D16).

- `external: true`: an existing volume made outside syncd (another tenant's data, or the
  host's) is mounted only when `externalVolumes` names it (its Docker name: `name`, else the
  key).
- `driver` other than `local`: a volume plugin (it may mount anything); `volumeDrivers`.
- `driverOpts` of the `local` driver make the host's kernel mount something: `o: bind` (or an
  absolute `device`) mounts a host path, which `hostPaths` must cover; another `type` (nfs,
  cifs, ext4, ...) needs `volumeTypes`. `type: tmpfs` stays in memory: allowed.
Values the model would refuse (not a mapping, not text) are left to it. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from syncd.manifests.yamlsafe import Path
from syncd.policy import ANY_NETWORK, Allowed, PolicyKey, Refusal, check_bind, clip

ANY = ANY_NETWORK  # "*"
HARMLESS_TYPES = frozenset({"tmpfs"})
BIND_OPTIONS = frozenset({"bind", "rbind"})
OPTION_SPELLINGS = ("driver_opts", "driverOpts")


def _named(
    allowed: Allowed, key: PolicyKey, names: frozenset[str], name: str, what: str
) -> Refusal | None:
    if ANY in names or name in names:
        return None
    return allowed.refuse(what, key, repr(clip(name)))


def check_volume_driver(allowed: Allowed, driver: str, what: str) -> Refusal | None:
    """A volume driver other than `local` (top-level `driver`, or a service's `volume_driver`)."""
    return _named(allowed, PolicyKey.VOLUME_DRIVERS, allowed.volume_drivers, driver, what)


def external_name(key: str, volume: Mapping[str, Any]) -> str | None:
    """The Docker name of an external volume (None: not external)."""
    external = volume.get("external")
    name = volume.get("name", key)
    if isinstance(external, Mapping):  # Compose's legacy `external: {name: ...}`
        name = external.get("name", name)
    return str(name) if external else None


def volume_refusals(
    allowed: Allowed, volume: Mapping[str, Any], key: str
) -> Iterator[tuple[Path, Refusal]]:
    """Each refused value of the top-level volume `key`, at its path (relative to the volume)."""
    name = external_name(key, volume)
    if name is not None:
        what = f"external volume {clip(name)!r} (a volume made outside syncd)"
        refusal = _named(allowed, PolicyKey.EXTERNAL_VOLUMES, allowed.external_volumes, name, what)
        if refusal is not None:
            yield ("external",), refusal
        return
    driver = volume.get("driver")
    if driver not in (None, "local"):
        what = f"volume driver {clip(str(driver))!r} (a volume plugin may mount any host path)"
        refusal = _named(
            allowed, PolicyKey.VOLUME_DRIVERS, allowed.volume_drivers, str(driver), what
        )
        if refusal is not None:
            yield ("driver",), refusal
        return
    for spelling in OPTION_SPELLINGS:
        opts = volume.get(spelling)
        if isinstance(opts, Mapping) and opts:
            yield from (((spelling, *where), r) for where, r in _local_options(allowed, opts))


def _local_options(allowed: Allowed, opts: Mapping[str, Any]) -> Iterator[tuple[Path, Refusal]]:
    flags = {o.strip().split("=")[0] for o in str(opts.get("o", "")).split(",")}
    device = opts.get("device")
    kind = opts.get("type")
    if flags & BIND_OPTIONS:  # a host bind in disguise: `device` is the host path
        refusal = check_bind(allowed, str(device or ""))
        if refusal is not None:
            yield ("device" if device is not None else "o",), refusal
        return
    if kind is not None and str(kind) not in HARMLESS_TYPES:
        what = f"a volume of type {clip(str(kind))!r} mounted by the host's kernel"
        refusal = _named(allowed, PolicyKey.VOLUME_TYPES, allowed.volume_types, str(kind), what)
        if refusal is not None:
            yield ("type",), refusal
    if isinstance(device, str) and device.startswith("/") and not device.startswith("//"):
        # a block device or folder of the host (`//server/share` is a remote one)
        refusal = check_bind(allowed, device)
        if refusal is not None:
            yield ("device",), refusal
