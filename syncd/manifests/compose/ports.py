"""`ports` (short `[[IP:][HOST:]]CONTAINER[/proto]` with ranges, an integer, or the long form) and
`expose`, in Compose's meaning, and what syncd's `Stack` model carries of them today.

Compose's forms become `Port` entries (one per container port: equal ranges expand pairwise; a
host range to one container port stays one entry). syncd's model carries `<public>:<container>/
<proto>` (a fixed host port, or a host range Docker picks one free port of), `:<container>/<proto>`
(ephemeral), each with an optional host address, and `<container>/<proto>` (project-internal,
Compose's `expose`); tcp, udp and sctp. Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, replace
from typing import Any

from syncd.manifests.compose.context import MAX_PORTS, Context, clip, kind_of
from syncd.manifests.fields import PortSpec, Protocol
from syncd.manifests.yamlsafe import Path

MAX_RANGE = 1024  # ports in one range: far above real use, far below a flood
PROTOCOLS = ("tcp", "udp", "sctp")
_SHORT = re.compile(
    r"(?:(?:\[(?P<ip6>[0-9a-fA-F:.]+)\]|(?P<ip>[0-9a-fA-F:.]*)):)??"
    r"(?:(?P<host>[0-9]*(?:-[0-9]+)?):)?"
    r"(?P<target>[0-9]+(?:-[0-9]+)?)(?:/(?P<proto>[^/]*))?",
    re.ASCII,
)
_RANGE = re.compile(r"([0-9]{1,5})(?:-([0-9]{1,5}))?", re.ASCII)
_LONG_KEYS = frozenset(
    {"target", "published", "host_ip", "protocol", "app_protocol", "mode", "name"}
)


@dataclass(frozen=True, order=True)
class Port:
    target: int
    protocol: str
    published: str | None = None  # one port or a host range ("12400-12500"); None = ephemeral
    host_ip: str | None = None
    mode: str | None = field(default=None, compare=False)  # long form: host or ingress (Swarm)


def _range(text: str, what: str) -> tuple[int, int] | str:
    match = _RANGE.fullmatch(text)
    if match is None:
        return f"{what} {clip(text)!r} is not a port or a range like 8000-8010"
    low = int(match[1])
    high = int(match[2]) if match[2] else low
    for number in (low, high):
        if not 1 <= number <= 65535:
            return f"{what} {number} is outside 1-65535"
    if high < low:
        return f"{what} range {clip(text)!r} ends before it starts"
    if high - low >= MAX_RANGE:
        return f"{what} range {clip(text)!r} has more than {MAX_RANGE} ports"
    return low, high


def _protocol(text: str | None) -> str | None:
    proto = text if text is not None else "tcp"
    return proto if proto in PROTOCOLS else None


def _expand(target: str, host: str | None, ip: str | None, proto: str) -> list[Port] | str:
    targets = _range(target, "container port")
    if isinstance(targets, str):
        return targets
    low, high = targets
    if host is None or host == "":
        return [Port(t, proto, None, ip) for t in range(low, high + 1)]
    hosts = _range(host, "host port")
    if isinstance(hosts, str):
        return hosts
    if low == high:
        published = str(hosts[0]) if hosts[0] == hosts[1] else f"{hosts[0]}-{hosts[1]}"
        return [Port(low, proto, published, ip)]
    if hosts[1] - hosts[0] != high - low:
        return f"the host range {host} and the container range {target} differ in length"
    return [Port(t, proto, str(hosts[0] + t - low), ip) for t in range(low, high + 1)]


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _split(text: str) -> tuple[str | None, str | None, str] | None:
    """(host IP, host part, container part) of `[IP:][HOST:]CONTAINER` without the protocol;
    an IPv6 address may stand in brackets or bare (the last two fields are then the ports)."""
    if text.startswith("["):
        ip, sep, rest = text[1:].partition("]:")
        if not sep:
            return None
        host, sep, target = rest.partition(":")
        return (ip, host, target) if sep else None
    parts = text.split(":")
    if len(parts) == 1:
        return None, None, parts[0]
    if len(parts) == 2:
        return None, parts[0], parts[1]
    return ":".join(parts[:-2]), parts[-2], parts[-1]


def parse_short(value: str) -> list[Port] | str:
    """The entries of a short-syntax port, or why it is not one."""
    text, slash, proto_text = value.strip().partition("/")
    split = _split(text)
    if split is None or (split[0] is not None and split[0] and not _is_ip(split[0])):
        return (
            f"{clip(value)!r} is not [host_ip:][host_port:]container_port[/protocol] "
            "(e.g. '8080:80', '127.0.0.1:8080:80/udp' or '80')"
        )
    proto = _protocol(proto_text if slash else None)
    if proto is None:
        return (
            f"{clip(value)!r}: protocol {clip(proto_text)!r} is not one of "
            f"{', '.join(PROTOCOLS)} (lower case)"
        )
    ip, host, target = split
    return _expand(target, host, ip or None, proto)


def _long(value: dict[str, Any], at: Path, ctx: Context) -> list[Port] | None:
    for key in value:
        if key not in _LONG_KEYS and not key.startswith("x-"):
            ctx.error((*at, key), f"unknown key {key!r} in a port", key=True)
            return None
    target, published = value.get("target"), value.get("published")
    if isinstance(target, bool) or not isinstance(target, int | str):
        ctx.error((*at, "target"), "a port needs 'target', the container port")
        return None
    if published is not None and (
        isinstance(published, bool) or not isinstance(published, int | str)
    ):
        ctx.error((*at, "published"), f"expected a port or a range, got {kind_of(published)}")
        return None
    mode = value.get("mode")
    if mode is not None and mode not in ("host", "ingress"):
        ctx.error((*at, "mode"), "mode is host or ingress")
        return None
    proto = _protocol(value.get("protocol"))
    if proto is None:
        ctx.error((*at, "protocol"), f"protocol is not one of {', '.join(PROTOCOLS)} (lower case)")
        return None
    host_ip = value.get("host_ip")
    if host_ip is not None and (not isinstance(host_ip, str) or not _is_ip(host_ip)):
        ctx.error((*at, "host_ip"), "host_ip is an IPv4 or IPv6 address")
        return None
    found = _expand(str(target), None if published is None else str(published), host_ip, proto)
    if isinstance(found, str):
        ctx.error(at, found)
        return None
    for meta in ("app_protocol", "name"):
        if meta in value:
            ctx.later((*at, meta), f"ports.{meta}", "metadata of a published port")
    return [replace(p, mode=mode) for p in found] if mode is not None else found


def read_ports(value: object, at: Path, ctx: Context) -> list[tuple[Path, Port]]:
    """Every port entry of `ports`, with where it was written."""
    if not isinstance(value, list):
        ctx.error(at, f"ports is a list, got {kind_of(value)}")
        return []
    found: list[tuple[Path, Port]] = []
    for index, item in enumerate(value):
        here = (*at, index)
        if isinstance(item, dict):
            ports = _long(item, here, ctx) or []
        elif isinstance(item, int | str) and not isinstance(item, bool):
            parsed = parse_short(str(item))
            if isinstance(parsed, str):
                ctx.error(here, parsed)
                continue
            ports = parsed
        else:
            ctx.error(here, f"a port is a string, a number or a mapping, got {kind_of(item)}")
            continue
        if not _spend(len(ports), here, ctx):
            break
        found.extend((here, port) for port in ports)
    return found


def _spend(count: int, at: Path, ctx: Context) -> bool:
    """Take `count` port entries from the file's budget; False (and an error) when it is spent."""
    ctx.ports_left -= count
    if ctx.ports_left < 0:
        ctx.error(at, f"the file publishes or exposes more than {MAX_PORTS} ports; refused")
        return False
    return True


def read_expose(value: object, at: Path, ctx: Context) -> list[tuple[Path, Port]]:
    if not isinstance(value, list):
        ctx.error(at, f"expose is a list, got {kind_of(value)}")
        return []
    found: list[tuple[Path, Port]] = []
    for index, item in enumerate(value):
        here = (*at, index)
        if isinstance(item, bool) or not isinstance(item, int | str):
            ctx.error(here, f"expected a port like 80 or '80/udp', got {kind_of(item)}")
            continue
        text, _, proto = str(item).partition("/")
        ports = _expand(text, None, None, proto or "tcp") if _protocol(proto or None) else None
        if not isinstance(ports, list):
            ctx.error(here, ports or f"{clip(str(item))!r}: protocol is not one of tcp, udp, sctp")
            continue
        if not _spend(len(ports), here, ctx):
            break
        found.extend((here, port) for port in ports)
    return found


def native_ports(
    ports: list[tuple[Path, Port]], exposed: list[tuple[Path, Port]], ctx: Context
) -> list[tuple[Path, str]]:
    """The `ports` strings of syncd's model, each with where it was written (once per
    string): a host range to one container port stays one (`8000-8010:80/tcp`), SCTP too."""
    out: list[tuple[Path, str]] = []
    out += [(at, str(_native(port))) for at, port in ports]
    out += [(at, f"{port.target}/{port.protocol}") for at, port in exposed]
    first: dict[str, Path] = {}
    for at, text in out:
        first.setdefault(text, at)
    return [(at, text) for text, at in first.items()]


def _native(port: Port) -> PortSpec:
    """The native form: `[IP:]PUBLIC:CONTAINER/proto`, `[IP:]:CONTAINER/proto` when ephemeral."""
    ip = str(ipaddress.ip_address(port.host_ip)) if port.host_ip is not None else None
    first, _, last = (port.published or "").partition("-")
    public = int(first) if first else None
    end = int(last) if last else None  # a host range: Docker picks one free port of it
    return PortSpec(port.target, Protocol(port.protocol), public, ip, public is None, end)


def port_modes(ports: list[tuple[Path, Port]], ctx: Context) -> list[tuple[Path, str, str]]:
    """The `mode` of each published long-form port that names one: (where the mode is written,
    the port's text in the model, mode); one port written with two modes is an error."""
    out: dict[str, tuple[Path, str]] = {}
    for at, port in ports:
        if port.mode is None:
            continue
        text = str(_native(port))
        here = (*at, "mode")
        if text in out and out[text][1] != port.mode:
            ctx.error(here, f"port {clip(text)} is written with mode {out[text][1]} too")
            continue
        out.setdefault(text, (here, port.mode))
    return [(at, text, mode) for text, (at, mode) in out.items()]
