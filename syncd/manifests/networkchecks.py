"""The network rules of one stack (`checks` runs them on every native and Compose stack):
each network a service joins is declared, a static address lies in a subnet of its network,
`network_mode: service:x` and `links` name another service of the stack (and are dependencies:
`network_dependencies`). Pure: no I/O.
"""

from __future__ import annotations

import ipaddress

from syncd.manifests.model import Service, Stack
from syncd.manifests.options.network import DEFAULT_NETWORK, ServiceNetwork, StackNetwork
from syncd.manifests.parse import Located, suggest
from syncd.manifests.yamlsafe import pointer
from syncd.problems import Problem, Severity


def shared_namespaces(service: Service) -> list[tuple[str, str]]:
    """(field, service) of each namespace `service` shares with another service of the stack:
    `networkMode`, `pid` and `ipc` set to `service:x`."""
    out = []
    for field, value in (
        ("networkMode", service.network_mode),
        ("pid", service.pid),
        ("ipc", service.ipc),
    ):
        if value is not None and value.startswith("service:"):
            out.append((field, value.removeprefix("service:")))
    return out


def network_dependencies(service: Service) -> list[str]:
    """The services `service` needs started first: its links and the services whose network,
    PID or IPC namespace it joins (`service:x`)."""
    out = [link.partition(":")[0] for link in service.links or []]
    out += [target for _field, target in shared_namespaces(service)]
    return list(dict.fromkeys(out))


def network_problems(located: Located[Stack]) -> list[Problem]:
    stack = located.manifest
    problems: list[Problem] = []
    for key, declared in stack.networks.items():
        if declared.name is not None and not declared.external:
            at = ("networks", key, "name")
            message = (
                "name is not used: syncd creates the network with its own instance-scoped "
                "name; set external: true to join an existing network"
            )
            position = located.document.positions.locate(at)
            problems.append(Problem(located.path, message, pointer(at), position, Severity.WARNING))
    taken: dict[tuple[str, str], str] = {}  # (network, address) -> the service holding it
    for name, service in stack.services.items():
        base = ("services", name)
        if service.networks is not None and service.network_mode is not None:
            problems.append(
                located.problem(
                    (*base, "networkMode"), "networkMode and networks exclude each other"
                )
            )
        for key, endpoint in (service.networks or {}).items():
            where = (*base, "networks", key)
            network = stack.networks.get(key)
            if network is None and key != DEFAULT_NETWORK:
                hint = suggest(key, stack.networks)
                message = f"network {key!r} is not declared under the stack's 'networks'{hint}"
                problems.append(located.problem(where, message))
            elif endpoint is not None:
                if network is None or not network.external:  # Docker knows external subnets
                    problems += _addresses(located, where, endpoint, network)
                problems += _taken(located, where, endpoint, taken)
        mode = service.network_mode or ""
        if mode.startswith("service:") and service.ports:
            message = (
                "a service in another service's network namespace has no ports of its own: "
                f"publish them on {mode.removeprefix('service:')!r}"
            )
            problems.append(located.problem((*base, "ports"), message))
        targets = shared_namespaces(service)
        targets += [("links", link.partition(":")[0]) for link in service.links or []]
        for field, target in targets:
            other = stack.services.get(target)
            if field == "ipc" and other is not None and other.ipc not in ("shareable", "host"):
                message = (
                    f"{target!r} must declare ipc: shareable (or host) for another service to "
                    "join its IPC namespace (Docker's default is private)"
                )
                problems.append(located.problem((*base, field), message))
            if target == name:
                problems.append(
                    located.problem((*base, field), f"{field} names the service itself")
                )
            elif target not in stack.services:
                hint = suggest(target, stack.services)
                problems.append(
                    located.problem((*base, field), f"no service {target!r} in this stack{hint}")
                )
    return problems


def _addresses(
    located: Located[Stack],
    where: tuple[str, ...],
    endpoint: ServiceNetwork,
    network: StackNetwork | None,
) -> list[Problem]:
    """Docker gives a static address only on a network whose ipam names the subnet."""
    subnets = [
        ipaddress.ip_network(pool.subnet)
        for pool in (network.ipam.config or [] if network and network.ipam else [])
        if pool.subnet
    ]
    problems = []
    for field in ("ipv4_address", "ipv6_address"):
        value = getattr(endpoint, field)
        if value is None:
            continue
        address = ipaddress.ip_address(value)
        if not any(address.version == s.version and address in s for s in subnets):
            alias = "ipv4Address" if field == "ipv4_address" else "ipv6Address"
            problems.append(
                located.problem(
                    (*where, alias),
                    f"{value} is in no subnet of this network's ipam config: Docker gives a "
                    "static address only inside a subnet declared under the network's "
                    "ipam.config",
                )
            )
    return problems


def _taken(
    located: Located[Stack],
    where: tuple[str, ...],
    endpoint: ServiceNetwork,
    taken: dict[tuple[str, str], str],
) -> list[Problem]:
    """A static address belongs to one service of a network."""
    problems = []
    service, network = where[1], where[3]
    for field, value in (
        ("ipv4Address", endpoint.ipv4_address),
        ("ipv6Address", endpoint.ipv6_address),
    ):
        if value is None:
            continue
        holder = taken.setdefault((network, value), service)
        if holder != service:
            message = f"{value} on network {network!r} is already the address of {holder!r}"
            problems.append(located.problem((*where, field), message))
    return problems
