"""The network options of a `ContainerRequest` as docker-py arguments.

`options` holds canonical values keyed by syncd's field names (`core.options.network`), every
field present (defaults included). Networks need engine names (`Names`), so `DockerEngine.create`
asks `attachments` and `network_mode` here rather than `container_kwargs` / `host_kwargs`.
Docker's API 1.41 takes one network at create: the first attachment (highest `priority`, then
by name); the others are connected before the container starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from syncd.engine.base import Names
from syncd.ids import ServiceKey


@dataclass(frozen=True)
class Attachment:
    """One network a container joins: the stack's key for it, its engine name, its endpoint
    (canonical: aliases, addresses, priority, `network` = definition or None for the project
    network)."""

    key: str
    name: str
    endpoint: Mapping[str, Any]

    @property
    def definition(self) -> Mapping[str, Any] | None:
        found: Mapping[str, Any] | None = self.endpoint.get("network")
        return found


def container_kwargs(options: Mapping[str, Any]) -> dict[str, Any]:
    return {}


def host_kwargs(options: Mapping[str, Any]) -> dict[str, Any]:
    return {}


def network_mode(names: Names, service: ServiceKey, options: Mapping[str, Any]) -> str | None:
    """Docker's `NetworkMode` for an explicit `networkMode`; None when the service joins
    networks. `service:x` -> the namespace of x's container in the same stack."""
    mode: str | None = options.get("networkMode")
    if mode is None or not mode.startswith("service:"):
        return mode
    target = ServiceKey(service.project, service.stack, mode.removeprefix("service:"))
    return f"container:{names.container(target)}"


def attachments(names: Names, service: ServiceKey, options: Mapping[str, Any]) -> list[Attachment]:
    """The networks to join, in connecting order (highest priority first, then by key)."""
    if options.get("networkMode") is not None:
        return []
    joined: Mapping[str, Mapping[str, Any]] = options.get("networks") or {}
    out = []
    for key, endpoint in joined.items():
        definition = endpoint.get("network")
        name = (
            names.network(service.project)
            if definition is None
            else names.stack_network(service.stack_key, key, definition)
        )
        out.append(Attachment(key, name, endpoint))
    return sorted(out, key=lambda a: (-int(a.endpoint.get("priority") or 0), a.key))


def endpoint_kwargs(
    names: Names, service: ServiceKey, attachment: Attachment, links: list[str]
) -> dict[str, Any]:
    """docker-py's endpoint arguments: the service's name and its aliases, its addresses, and
    (`links`) names of other services' containers seen only from this one."""
    endpoint = attachment.endpoint
    linked = []
    for link in links:
        target, _, alias = link.partition(":")
        container = names.container(ServiceKey(service.project, service.stack, target))
        linked.append((container, alias or target))
    return {
        "aliases": [service.name, *endpoint.get("aliases", [])],
        "ipv4_address": endpoint.get("ipv4Address"),
        "ipv6_address": endpoint.get("ipv6Address"),
        "link_local_ips": list(endpoint.get("linkLocalIps") or []) or None,
        "links": linked or None,
    }
