"""The operator's policy over a Compose file's top-level sections (`volumes`, `networks`,
`configs`, `secrets`, `include`), and the host-path checks the service walk shares
(`policyguard`). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from syncd.manifests.policynet import check_external_network, ipam_refusals
from syncd.manifests.policyvolumes import volume_refusals
from syncd.manifests.yamlsafe import Path
from syncd.policy import (
    ANY_PATH,
    Allowed,
    PolicyKey,
    Refusal,
    check_bind,
    check_flag,
    clip,
    path_allowed,
)

# Bridge network options that stay inside the network (the rest name host interfaces, routing):
# the MTU, and whether the bridge's own containers may talk to each other.
SAFE_NETWORK_OPTIONS = frozenset(
    {"com.docker.network.driver.mtu", "com.docker.network.bridge.enable_icc"}
)


@dataclass(frozen=True)
class Finding:
    path: Path
    refusal: Refusal


def any_path(allowed: Allowed, what: str) -> Refusal | None:
    """Something that may reach any host path: allowed only with `hostPaths: ["/"]`."""
    if path_allowed(allowed.host_paths, ANY_PATH):
        return None
    return allowed.refuse(what, PolicyKey.HOST_PATHS, repr(ANY_PATH))


def host_file(allowed: Allowed, value: Any) -> Refusal | None:
    """A file or folder source: relative ones stay in the repo (the Compose reader keeps them
    there); `~` is the host's home folder; an absolute one is a host path."""
    if not isinstance(value, str):
        return None
    if value.startswith("~"):
        what = f"host path {clip(value, 120)!r} is in a home folder on the host: write it as /a/b"
        return allowed.refuse(what, None)
    if value.startswith("/"):
        return check_bind(allowed, value)
    return None


def volume_findings(allowed: Allowed, volume: Mapping[str, Any], at: Path) -> list[Finding]:
    """A top-level volume (`policyvolumes`): external, another driver, local driver options."""
    return [Finding((*at, *where), r) for where, r in volume_refusals(allowed, volume, str(at[-1]))]


def network_findings(allowed: Allowed, network: Mapping[str, Any], at: Path) -> list[Finding]:
    """A top-level network: the host's own network (an external network named `host`), another
    driver than `bridge` (host, macvlan, ipvlan on a host interface, a plugin), or bridge
    options that reach into the host's network (an existing bridge, routed mode, no NAT), or
    ipam addresses outside the private ranges (`policynet`)."""
    driver = network.get("driver")
    external = network.get("external")
    name = network.get("name", at[-1])
    if isinstance(external, Mapping):  # Compose's legacy `external: {name: …}`
        name = external.get("name", name)
    flag = PolicyKey.HOST_NAMESPACES
    if external and name == "host":
        what = f"network {clip(str(at[-1]))!r} (the host's own network)"
        return _found(at, check_flag(allowed, flag, True, what))
    if external:  # another tenant's or the host's containers may be on it
        return _found(at, check_external_network(allowed, str(name)))
    if driver not in (None, "bridge"):
        what = f"network {clip(str(at[-1]))!r} with driver {clip(str(driver))!r}"
        return _found((*at, "driver"), check_flag(allowed, flag, True, what))
    for spelling in ("driver_opts", "driverOpts"):
        opts = network.get(spelling)
        for option in opts if isinstance(opts, Mapping) else ():
            if option not in SAFE_NETWORK_OPTIONS:
                what = f"network option {clip(str(option))!r} (it changes the host's network)"
                return _found((*at, spelling, option), check_flag(allowed, flag, True, what))
    return [Finding((*at, *where), refusal) for where, refusal in ipam_refusals(allowed, network)]


def file_source_findings(allowed: Allowed, entry: Mapping[str, Any], at: Path) -> list[Finding]:
    """A top-level config or secret: an absolute `file:` is read from the host."""
    return _found((*at, "file"), host_file(allowed, entry.get("file")))


def include_findings(allowed: Allowed, include: Any) -> list[Finding]:
    found: list[Finding] = []
    for index, entry in indexed(include):
        paths = entry.get("path") if isinstance(entry, Mapping) else entry
        listed = paths if isinstance(paths, list) else [paths]
        for inner, path in enumerate(listed):
            at: Path = ("include", index)
            if isinstance(entry, Mapping):
                at = (*at, "path", inner) if isinstance(paths, list) else (*at, "path")
            found += _found(at, host_file(allowed, path))
    return found


def _found(at: Path, refusal: Refusal | None) -> list[Finding]:
    return [] if refusal is None else [Finding(at, refusal)]


def indexed(value: Any) -> list[tuple[int, Any]]:
    """A list's entries with their index; nothing for anything else."""
    return list(enumerate(value)) if isinstance(value, list | tuple) else []
