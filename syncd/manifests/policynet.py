"""The networks of a stack against the operator's policy: the addresses they claim on the host
and the existing networks they join.

A bridge network's subnet becomes a route on the host: Docker checks it against its other
networks only, not against the host's own routes. A manifest asking for `0.0.0.0/1` (or
`169.254.169.254/32`, `127.0.0.0/8`, a public prefix) would send the host's own traffic for
those addresses into a container it controls. So an ipam address outside the private ranges
(RFC 1918 for IPv4, unique local `fc00::/7` for IPv6) changes the host's network, which only
`hostNamespaces: true` allows. Values the model refuses (not an address) are left to it.
An external network (made outside syncd) is joined only when `externalNetworks` names it.
Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from typing import Any

from syncd.manifests.yamlsafe import Path
from syncd.policy import ANY_NETWORK, Allowed, PolicyKey, Refusal, check_flag, clip

PRIVATE = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
# Each pool's fields that hold an address or a subnet, in Compose's and syncd's spelling.
_POOL_FIELDS = ("subnet", "ip_range", "ipRange", "gateway")
_AUX_FIELDS = ("aux_addresses", "auxAddresses")


def private(value: str) -> bool | None:
    """Whether `value` (an address or a subnet) lies in a private range; None: not one."""
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None
    return any(network.version == p.version and network.subnet_of(p) for p in PRIVATE)  # type: ignore[arg-type]


def ipam_refusals(allowed: Allowed, network: Mapping[str, Any]) -> Iterator[tuple[Path, Refusal]]:
    """One refusal per ipam address of `network` outside the private ranges, at its path
    (relative to the network)."""
    ipam = network.get("ipam")
    config = ipam.get("config") if isinstance(ipam, Mapping) else None
    for index, pool in enumerate(config if isinstance(config, list) else []):
        if not isinstance(pool, Mapping):
            continue
        values: list[tuple[Path, Any]] = [((f,), pool.get(f)) for f in _POOL_FIELDS]
        for field in _AUX_FIELDS:
            aux = pool.get(field)
            if isinstance(aux, Mapping):
                values += [((field, name), address) for name, address in aux.items()]
        for where, value in values:
            if not isinstance(value, str) or private(value) is not False:
                continue
            what = (
                f"network address {clip(value)!r} outside the private ranges (10/8, 172.16/12, "
                "192.168/16, fc00::/7): the host would route its own traffic for it to this "
                "network"
            )
            refusal = check_flag(allowed, PolicyKey.HOST_NAMESPACES, True, what)
            if refusal is not None:
                yield ("ipam", "config", index, *where), refusal


def check_external_network(allowed: Allowed, name: str) -> Refusal | None:
    """An existing network made outside syncd (`external: true`): its other containers (the
    host's, another tenant's) are reachable from the service, and it from them."""
    if ANY_NETWORK in allowed.external_networks or name in allowed.external_networks:
        return None
    what = f"external network {clip(name)!r}"
    return allowed.refuse(what, PolicyKey.EXTERNAL_NETWORKS, repr(clip(name)))
