"""Service fields: which networks a service joins (aliases, addresses), network_mode and links;
and the stack's own networks (Compose's top-level `networks`).

Named as the Compose Specification names them, in camelCase (`ipv4_address` -> `ipv4Address`),
with Compose's meaning. A service that names no network joins `default`: the project network,
unless the stack declares its own `default`. Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from syncd.manifests.strict import StrictModel
from syncd.policyvalues import DOCKER_NAME  # an external network's name, as the policy lists it

DEFAULT_NETWORK = "default"
MEMBER = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}")
ALIAS = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9_.-]{0,252})")
# `service:<name>` joins another service's network namespace; `container:` is refused.
MODES = ("none", "host", "bridge")
RESERVED_LABEL = "syncd."


def _fail(message: str) -> PydanticCustomError:
    return PydanticCustomError("network", message)


def _matching(pattern: re.Pattern[str], what: str) -> Callable[[str], str]:
    """A validator of names in `pattern` (letters, digits, `_`, `.`, `-`) that says `what`."""

    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise _fail(f"{value[:40]!r} is not {what}: letters, digits, '_', '.', '-'")
        return value

    return check


_member = _matching(MEMBER, "a network name")
_docker_name = _matching(DOCKER_NAME, "a Docker network name")
_alias = _matching(ALIAS, "a DNS name")


def _ip(version: int) -> Any:
    def check(value: str) -> str:
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            raise _fail(f"{value[:45]!r} is not an IPv{version} address") from None
        if address.version != version:
            raise _fail(f"{value[:45]!r} is not an IPv{version} address")
        return str(address)

    return check


def _any_ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise _fail(f"{value[:45]!r} is not an IP address") from None


def _subnet(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError:
        raise _fail(f"{value[:45]!r} is not a subnet in CIDR form (10.5.0.0/24)") from None


def _mode(value: str) -> str:
    if value in MODES:
        return value
    if value.startswith("service:") and MEMBER.fullmatch(value.removeprefix("service:")):
        return value
    if value.startswith("container:"):
        raise _fail("network_mode container: joins a container syncd did not create; refused")
    raise _fail(f"{value[:40]!r} is not one of none, host, bridge or service:<service>")


def _link(value: str) -> str:
    service, _, alias = value.partition(":")
    if not MEMBER.fullmatch(service) or (alias and not ALIAS.fullmatch(alias)):
        raise _fail(f"{value[:40]!r} is not a link '<service>' or '<service>:<alias>'")
    return value


def _scalar(value: Any) -> Any:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value) if isinstance(value, int | float) else value


def _text(value: Any) -> Any:
    """Option and label values: Compose turns numbers and booleans into strings."""
    if isinstance(value, dict):
        return {k: _scalar(v) for k, v in value.items()}
    return value


def _labels(value: dict[str, str]) -> dict[str, str]:
    for key in value:
        if key.startswith(RESERVED_LABEL):
            raise _fail(f"label {key[:40]!r}: labels starting with 'syncd.' are syncd's own")
    return value


def _list_to_map(value: Any) -> Any:
    """`networks: [front]` is short for `networks: {front: null}`."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            if not isinstance(item, str):  # a list or mapping is no name (nor a key)
                kind = type(item).__name__
                raise _fail(f"entry {index} of the list is not a network name (a {kind})")
        return dict.fromkeys(value)
    return value


def _empty_if_null(value: Any) -> Any:
    return {} if value is None else value


NetworkKey = Annotated[str, AfterValidator(_member)]
Alias = Annotated[str, AfterValidator(_alias)]
IPv4 = Annotated[str, AfterValidator(_ip(4))]
IPv6 = Annotated[str, AfterValidator(_ip(6))]
AnyIP = Annotated[str, AfterValidator(_any_ip)]
Subnet = Annotated[str, AfterValidator(_subnet)]
Texts = Annotated[dict[str, str], BeforeValidator(_text)]


class ServiceNetwork(StrictModel):
    """One network a service joins (Compose's `networks.<name>` of a service)."""

    aliases: list[Alias] | None = Field(None, description="more DNS names on this network")
    ipv4_address: IPv4 | None = Field(None, description="a static address in the ipam subnet")
    ipv6_address: IPv6 | None = None
    link_local_ips: list[AnyIP] | None = None
    priority: int | None = Field(None, description="higher first: the order of connecting")


ServiceNetworks = Annotated[dict[NetworkKey, ServiceNetwork | None], BeforeValidator(_list_to_map)]


class NetworkFields(StrictModel):
    """Mixed into `model.Service`."""

    networks: ServiceNetworks | None = Field(
        None, description="networks to join (list or map); omitted: the 'default' network"
    )
    network_mode: Annotated[str, AfterValidator(_mode)] | None = Field(
        None, description="none | host | bridge | service:<service of this stack>"
    )
    links: list[Annotated[str, AfterValidator(_link)]] | None = Field(
        None, description="'<service>' or '<service>:<alias>' (a name for it, and a dependency)"
    )


class IpamPool(StrictModel):
    subnet: Subnet | None = None
    ip_range: Subnet | None = None
    gateway: AnyIP | None = None
    aux_addresses: dict[str, AnyIP] | None = None


class Ipam(StrictModel):
    driver: str | None = Field(None, description="only 'default'")
    config: list[IpamPool] | None = None
    options: Texts | None = None

    @model_validator(mode="after")
    def _default_driver(self) -> Ipam:
        if self.driver not in (None, "default"):
            raise _fail(f"ipam driver {self.driver[:40]!r}: only the 'default' driver is carried")
        return self


class StackNetwork(StrictModel):
    """A network of the stack (Compose's top-level `networks.<name>`). syncd creates it with an
    instance-scoped name; `external: true` names one that exists (syncd never creates or
    deletes it)."""

    name: Annotated[str, AfterValidator(_docker_name)] | None = Field(
        None, description="the Docker name of an external network"
    )
    driver: str | None = Field(None, description="bridge (default); others need the policy")
    driver_opts: Texts | None = None
    ipam: Ipam | None = None
    external: bool | None = None
    internal: bool | None = Field(None, description="no route out of the network")
    enable_ipv6: bool | None = None
    attachable: bool | None = None
    labels: Annotated[Texts, AfterValidator(_labels)] | None = None

    @model_validator(mode="after")
    def _external_alone(self) -> StackNetwork:
        if self.external:
            extra = sorted(self.model_fields_set - {"name", "external"})
            if extra:
                raise _fail(f"an external network takes only 'name', not {extra[0]!r}")
        return self


class StackNetworkFields(StrictModel):
    """The stack's own networks (Compose's top-level `networks`)."""

    networks: Annotated[
        dict[NetworkKey, Annotated[StackNetwork, BeforeValidator(_empty_if_null)]],
        BeforeValidator(_empty_if_null),
    ] = Field(default_factory=dict)
