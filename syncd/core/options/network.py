"""The canonical form of a service's network options (see `manifests.options.network`).

`networks` maps each network the service joins to its endpoint: aliases, static addresses,
priority, and `network`, the canonical definition of the stack network it is (None: the project
network, which `default` is unless the stack declares its own). The definition is part of the
service's spec (`attach`), so a changed network recreates the services on it, and the engine
creates the network from it (an instance-scoped name with a digest of the definition).
`DEFAULTS` holds each field's value when the manifest omits it; `fields` the canonical values
of the fields the manifest sets. Pure: no I/O.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from syncd.manifests.model import Service
from syncd.manifests.options.network import (
    DEFAULT_NETWORK,
    Ipam,
    ServiceNetwork,
    StackNetwork,
)

ENDPOINT: dict[str, Any] = {
    "aliases": [],
    "ipv4Address": None,
    "ipv6Address": None,
    "linkLocalIps": [],
    "priority": 0,
    "network": None,
}
DEFAULTS: dict[str, Any] = {
    "networks": {DEFAULT_NETWORK: dict(ENDPOINT)},
    "networkMode": None,  # None: the networks above
    "links": [],
    "networkPeer": None,  # `networkMode: service:x`: a digest of x's spec (see `peers`)
}
# Fields of this group whose change needs no new container (syncd only records them).
METADATA: frozenset[str] = frozenset()


def endpoint(given: ServiceNetwork | None) -> dict[str, Any]:
    out = copy.deepcopy(ENDPOINT)
    if given is None:
        return out
    # Duplicates stay (Docker takes them): folding an item from a variable into one the file
    # writes would tell a pull request that its guess equals the value.
    out["aliases"] = sorted(given.aliases or [])
    out["ipv4Address"] = given.ipv4_address
    out["ipv6Address"] = given.ipv6_address
    out["linkLocalIps"] = sorted(given.link_local_ips or [])
    out["priority"] = given.priority or 0
    return out


def fields(service: Service, given: set[str]) -> dict[str, Any]:
    """`given`: the model field names the manifest sets (`service.model_fields_set`)."""
    out: dict[str, Any] = {}
    if "networks" in given:
        joined = service.networks or {DEFAULT_NETWORK: None}
        out["networks"] = {name: endpoint(joined[name]) for name in sorted(joined)}
    if "network_mode" in given:
        out["networkMode"] = service.network_mode
    if "links" in given:
        out["links"] = sorted(set(service.links or []))
    return out


def _ipam(ipam: Ipam | None) -> dict[str, Any]:
    pools = [
        {
            "subnet": pool.subnet,
            "ipRange": pool.ip_range,
            "gateway": pool.gateway,
            "auxAddresses": dict(sorted((pool.aux_addresses or {}).items())),
        }
        for pool in (ipam.config or [] if ipam else [])
    ]
    options = dict(sorted((ipam.options or {}).items())) if ipam else {}
    return {"driver": "default", "config": pools, "options": options}


def definition(key: str, network: StackNetwork) -> dict[str, Any]:
    """The canonical definition of a stack network (Docker's defaults made explicit). An
    external one is only its Docker name: syncd neither creates nor changes it."""
    if network.external:
        return {"external": True, "name": network.name or key}
    return {
        "driver": network.driver or "bridge",
        "driverOpts": dict(sorted((network.driver_opts or {}).items())),
        "ipam": _ipam(network.ipam),
        "internal": bool(network.internal),
        "enableIpv6": bool(network.enable_ipv6),
        "attachable": bool(network.attachable),
        "labels": dict(sorted((network.labels or {}).items())),
    }


def attach(spec: dict[str, Any], networks: Mapping[str, StackNetwork]) -> dict[str, Any]:
    """The spec with each joined network's definition from the stack (`networks`): a service
    in a network namespace of its own choice (`networkMode`) joins no network."""
    out = dict(spec)
    if out.get("networkMode") is not None:
        out["networks"] = {}
        return out
    joined = out.get("networks", DEFAULTS["networks"])
    out["networks"] = {
        name: {
            **point,
            "network": definition(name, networks[name]) if name in networks else None,
        }
        for name, point in sorted(joined.items())
    }
    return out


def _digest(spec: Mapping[str, Any]) -> str:
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


# A field naming another service's namespace (`service:x`) -> the field holding a digest of x's
# spec. `pidPeer` and `ipcPeer` are defaults of `core.options.security`.
PEER_FIELDS = {"networkMode": "networkPeer", "pid": "pidPeer", "ipc": "ipcPeer"}


def peers(specs: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The specs of one stack, each service in another's network, PID or IPC namespace
    (`service:x`) holding a digest of x's spec as `networkPeer` / `pidPeer` / `ipcPeer`: Docker
    ties it to x's container, so a new container of x needs a new one of it too (as Compose
    does). Chains are followed; a cycle (refused by the checks) or a missing peer leaves the
    field out."""
    out: dict[str, dict[str, Any]] = {}
    for name in specs:
        _with_peers(name, frozenset({name}), specs, out)
    return out


def _with_peers(
    name: str,
    seen: frozenset[str],
    specs: Mapping[str, dict[str, Any]],
    out: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """`name`'s spec with its peers' digests, kept in `out` (a function of the module, not a
    closure calling itself: that would be a reference cycle, garbage only the collector frees)."""
    if name in out:
        return out[name]
    spec = dict(specs[name])
    for mode_field, peer_field in PEER_FIELDS.items():
        spec.pop(peer_field, None)  # a kept field of a PATCH merge: computed anew
        mode = spec.get(mode_field) or ""
        peer = mode.removeprefix("service:") if mode.startswith("service:") else None
        if peer is not None and peer in specs and peer not in seen:
            spec[peer_field] = _digest(_with_peers(peer, seen | {name}, specs, out))
    out[name] = spec
    return spec
