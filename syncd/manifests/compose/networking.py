"""Compose's networking keys -> syncd's model: a service's `networks` (list or map with
`aliases`, `ipv4_address`, `ipv6_address`, `link_local_ips`, `priority`), `network_mode`,
`links`, and the file's top-level `networks`.

What the host's Docker (Engine API 1.41) cannot do is a located error naming the key
(`mac_address`, `gw_priority`, `interface_name` of an endpoint, `enable_ipv4`); `bridge` as
network_mode leaves the project network (mapping D10: a warning); the `name` of a network syncd
creates is not used (D30: syncd names it per instance; a warning). `links` and
`network_mode: service:x` are also dependencies (`service_started`), as in Compose. Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Mapping
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_snake

from syncd.manifests.compose.context import Context, clip, kind_of
from syncd.manifests.options.network import (
    DEFAULT_NETWORK,
    MODES,
    ServiceNetwork,
    StackNetwork,
)
from syncd.manifests.parse import suggest
from syncd.manifests.yamlsafe import Path


class Scope(Protocol):
    """What `services.Scope` offers this module (no import: `services` imports this one)."""

    @property
    def networks(self) -> Mapping[str, Any]: ...
    @property
    def services(self) -> Collection[str]: ...
    @property
    def deployed(self) -> Collection[str]: ...


class ServiceData(Protocol):
    """What `services.ServiceData` offers this module."""

    data: dict[str, Any]
    secrets: set[Path]
    origins: dict[Path, Path]


ENDPOINT_KEYS = frozenset({"aliases", "ipv4_address", "ipv6_address", "link_local_ips", "priority"})
ENDPOINT_NEVER = {
    "mac_address": "a MAC address per network needs Docker Engine API 1.44 (this host speaks "
    "1.41); set the service's mac_address instead",
    "gw_priority": "the gateway priority needs Docker Engine API 1.48 (this host speaks 1.41)",
    "interface_name": "an interface name needs Docker Engine API 1.49 (this host speaks 1.41)",
    "driver_opts": "endpoint driver options are not carried: set them on the network",
}
NETWORK_NEVER = {
    "enable_ipv4": "enable_ipv4 needs Docker Engine API 1.47 (this host speaks 1.41); a "
    "network always has IPv4 here",
}
# Compose key -> model field, for taint and origins.
TAINT_FIELDS = {"networks": "networks", "network_mode": "networkMode", "links": "links"}


def _camel(data: Mapping[str, Any]) -> dict[str, Any]:
    return {"".join(w.capitalize() if i else w for i, w in enumerate(k.split("_"))): v
            for k, v in data.items()}  # fmt: skip


def _validated(model: type[BaseModel], data: dict[str, Any], at: Path, ctx: Context) -> bool:
    """Check `data` (camelCase) with the model, reporting the first problem at its Compose
    place."""
    try:
        model.model_validate(data)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        loc = tuple(to_snake(p) if isinstance(p, str) else p for p in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        ctx.error((*at, *loc), message)
        return False
    return True


def _texts(value: object, at: Path, ctx: Context, what: str) -> dict[str, str] | None:
    """A map of strings, or a list of `key=value` (labels): Compose's values become strings."""
    if isinstance(value, list):
        pairs = [str(item).partition("=") for item in value]
        return {k: v for k, _, v in pairs}
    if not isinstance(value, dict):
        ctx.error(at, f"{what} is a mapping, got {kind_of(value)}")
        return None
    return {
        str(k): str(v).lower() if isinstance(v, bool) else ("" if v is None else str(v))
        for k, v in value.items()
    }


def read_stack_networks(members: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    """The top-level networks (checked by `reader._members`: names, mappings, known keys) as the
    model's `networks`."""
    out: dict[str, Any] = {}
    for name, spec in members.items():
        at: Path = ("networks", name)
        data: dict[str, Any] = {}
        for key, value in spec.items():
            here = (*at, key)
            if key in NETWORK_NEVER:
                ctx.error(here, f"{key}: {NETWORK_NEVER[key]}", key=True)
            elif key == "external" and isinstance(value, dict):  # legacy {external: {name: x}}
                data["external"] = True
                if "name" in value:
                    data["name"] = value["name"]
            elif key in ("driver_opts", "labels"):
                data[key] = _texts(value, here, ctx, key)
            elif key == "ipam" and isinstance(value, dict):
                ipam = dict(value)
                if isinstance(ipam.get("config"), list):
                    ipam["config"] = [
                        _camel(c) if isinstance(c, dict) else c for c in ipam["config"]
                    ]
                if "options" in ipam:
                    ipam["options"] = _texts(ipam["options"], (*here, "options"), ctx, "options")
                data[key] = ipam
            elif not key.startswith("x-"):
                data[key] = value
        if data.get("name") is not None and not data.get("external"):
            ctx.warn(
                (*at, "name"),
                f"name {clip(str(data['name']))!r} is not used: syncd creates the network with "
                "its own instance-scoped name; set external: true to join an existing network",
            )
            del data["name"]
        native = _camel(data)
        if _validated(StackNetwork, native, at, ctx):
            out[name] = native
    return out


def _subnets(network: Mapping[str, Any] | None) -> list[Any]:
    config = ((network or {}).get("ipam") or {}).get("config") or []
    found = []
    for pool in config:
        try:
            found.append(ipaddress.ip_network(str(pool.get("subnet")), strict=False))
        except ValueError:
            continue
    return found


def _endpoint(
    name: str, value: object, at: Path, ctx: Context, declared: Mapping[str, Any]
) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        ctx.error(at, f"a network of a service is a mapping or null, got {kind_of(value)}")
        return None
    data: dict[str, Any] = {}
    for key, item in value.items():
        if key in ENDPOINT_NEVER:
            ctx.error((*at, key), f"{key}: {ENDPOINT_NEVER[key]}", key=True)
        elif key not in ENDPOINT_KEYS:
            ctx.error((*at, key), f"unknown key {key!r}{suggest(key, ENDPOINT_KEYS)}", key=True)
        else:
            data[key] = item
    native = _camel(data)
    if not _validated(ServiceNetwork, native, at, ctx):
        return None
    network = declared.get(name) or {}
    subnets = _subnets(network)
    for key in ("ipv4_address", "ipv6_address"):
        if key in data and not network.get("external"):  # Docker knows an external subnet
            address = ipaddress.ip_address(str(data[key]))
            if not any(address.version == s.version and address in s for s in subnets):
                ctx.error(
                    (*at, key),
                    f"{data[key]} is in no subnet of network {clip(name)!r}: Docker gives a "
                    "static address only inside a subnet of the network's ipam.config",
                )
    return native


def _networks(value: object, at: Path, ctx: Context, declared: Mapping[str, Any]) -> Any:
    entries: list[tuple[Path, str, Any]] = []  # (where, network, endpoint)
    if isinstance(value, list):
        seen: set[str] = set()
        for index, name in enumerate(value):
            if not isinstance(name, str):  # a list or mapping here is no name (nor a key)
                ctx.error((*at, index), f"expected a network name, got {kind_of(name)}")
            elif name not in seen:
                seen.add(name)
                entries.append(((*at, index), name, None))
    elif isinstance(value, dict):
        entries = [((*at, str(name)), str(name), spec) for name, spec in value.items()]
    else:
        ctx.error(at, f"networks is a list or a mapping, got {kind_of(value)}")
        return None
    out: dict[str, Any] = {}
    for here, name, spec in entries:
        if name != DEFAULT_NETWORK and name not in declared:
            hint = suggest(str(name), declared)
            ctx.error(here, f"network {clip(str(name))!r} is not declared under 'networks'{hint}")
            continue
        out[str(name)] = _endpoint(str(name), spec, here, ctx, declared)
    return out


def depend(out: ServiceData, target: str, where: Path) -> None:
    """`links` and `network_mode: service:x` start after `x` and restart when `x` gets a new
    container (compose-go `normalize.go`: `restart: true`)."""
    depends = out.data.setdefault("dependsOn", {})
    if target not in depends:
        depends[target] = {"condition": "service_started", "restart": True, "required": True}
        out.origins[("dependsOn", target)] = where


def _mode(value: object, at: Path, ctx: Context, scope: Scope, out: ServiceData) -> str | None:
    if not isinstance(value, str):
        ctx.error(at, f"network_mode is a string, got {kind_of(value)}")
        return None
    if value == "bridge":
        ctx.warn(
            at,
            "network_mode bridge joins Docker's default bridge: the service leaves the project "
            "network and cannot reach the other services by name",
        )
    if value in MODES:
        return value
    if value.startswith("service:"):
        target = value.removeprefix("service:")
        if target not in scope.services or target not in scope.deployed:
            ctx.error(at, f"network_mode: no deployed service {clip(target)!r} in this file")
            return None
        depend(out, target, at)
        return value
    ctx.error(at, f"network_mode {clip(value)!r} is not none, host, bridge or service:<service>")
    return None


def _links(value: object, at: Path, ctx: Context, scope: Scope, out: ServiceData) -> Any:
    if not isinstance(value, list):
        ctx.error(at, f"links is a list, got {kind_of(value)}")
        return None
    links = []
    for index, item in enumerate(value):
        here = (*at, index)
        target = str(item).partition(":")[0]
        if not isinstance(item, str) or target not in scope.services:
            hint = suggest(target, scope.services)
            ctx.error(here, f"a link names a service of this file: {clip(str(item))!r}{hint}")
        elif target not in scope.deployed:
            ctx.error(here, f"linked service {clip(target)!r} is not deployed (profiles)")
        else:
            links.append(item)
            depend(out, target, here)
    return links


def read_networking(
    service: Mapping[str, Any], at: Path, ctx: Context, scope: Scope, out: ServiceData
) -> None:
    """A service's networking keys into `out.data` (camelCase), with taint and origins."""
    data = out.data
    if "networks" in service:
        data["networks"] = _networks(service["networks"], (*at, "networks"), ctx, scope.networks)
        if "network_mode" in service:
            ctx.error((*at, "network_mode"), "network_mode and networks exclude each other")
    if "network_mode" in service:
        data["networkMode"] = _mode(service["network_mode"], (*at, "network_mode"), ctx, scope, out)
    if "links" in service:
        data["links"] = _links(service["links"], (*at, "links"), ctx, scope, out)
    for key, target in TAINT_FIELDS.items():
        if key in service:
            out.origins.setdefault((target,), (*at, key))
            if ctx.tainted((*at, key)):
                out.secrets.add((target,))
