"""Parsers for the small string languages inside a manifest: names, ports, mounts, sizes, durations.

Each parser returns a value object or raises `PydanticCustomError` with a message that says what
was wrong and what is expected. They never echo more than the offending string itself.
Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
VOLUME_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
ENV_NAME = re.compile(r"^[^=\x00]+$")
HOST = re.compile(
    r"^(?=.{1,253}(:|$))(localhost|[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?"
    r"(\.[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(:[0-9]{1,5})?$"
)


def _fail(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


def _parses(parser: Callable[[str], object]) -> Callable[[str], str]:
    """A validator that keeps the text as written, once `parser` accepts it."""

    def check(value: str) -> str:
        parser(value)
        return value

    return check


def check_dns_label(value: str) -> str:
    if len(value) > 63:
        raise _fail("name", f"{value[:20]!r}... is {len(value)} characters; names have at most 63")
    if not DNS_LABEL.match(value):
        raise _fail(
            "name",
            f"{value!r} is not a valid name: use lowercase letters, digits and '-', "
            "starting and ending with a letter or digit",
        )
    return value


Name = Annotated[str, AfterValidator(check_dns_label)]


class Protocol(StrEnum):
    TCP = "tcp"
    UDP = "udp"


@dataclass(frozen=True, order=True)
class PortSpec:
    """`8080:80/tcp` (published on the host) or `80/tcp` (project network only)."""

    container: int
    protocol: Protocol
    public: int | None = None

    def __str__(self) -> str:
        published = f"{self.public}:" if self.public is not None else ""
        return f"{published}{self.container}/{self.protocol}"


_PORT = re.compile(r"^(?:(?P<public>[0-9]+):)?(?P<container>[0-9]+)(?:/(?P<proto>[a-zA-Z]+))?$")


def _port_number(text: str, role: str, raw: str) -> int:
    number = int(text)
    if not 1 <= number <= 65535:
        raise _fail("port", f"{raw!r}: {role} port {number} is outside 1-65535")
    return number


def parse_port(raw: str) -> PortSpec:
    match = _PORT.match(raw.strip())
    if match is None:
        raise _fail(
            "port",
            f"{raw!r} is not <public>:<container>/<proto> or <container>/<proto> "
            "(e.g. '8080:80/tcp' or '80/tcp'); the publish address is a daemon setting",
        )
    proto = (match["proto"] or "tcp").lower()
    if proto not in Protocol.__members__.values():
        raise _fail("port", f"{raw!r}: protocol {proto!r} is not tcp or udp")
    public = match["public"]
    return PortSpec(
        container=_port_number(match["container"], "container", raw),
        protocol=Protocol(proto),
        public=_port_number(public, "public", raw) if public is not None else None,
    )


PortString = Annotated[str, AfterValidator(_parses(parse_port))]


class MountKind(StrEnum):
    VOLUME = "volume"
    PROJECT_FILES = "project-files"


@dataclass(frozen=True)
class MountSpec:
    """`name:/path[:ro]` (named volume) or `/sub/dir:/path[:ro]` (project files)."""

    kind: MountKind
    source: str
    target: str
    read_only: bool = False


def _has_dotdot(path: str) -> bool:
    return any(part == ".." for part in path.split("/"))


def parse_mount(raw: str) -> MountSpec:
    parts = raw.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise _fail(
            "mount",
            f"{raw!r} is not <volume>:<mountpoint>[:ro|rw] "
            "(e.g. 'data:/var/lib/mysql' or '/html:/var/www:ro')",
        )
    source, target = parts[0], parts[1]
    mode = parts[2] if len(parts) == 3 else "rw"
    if mode not in ("ro", "rw"):
        raise _fail("mount", f"{raw!r}: mode {mode!r} is not 'ro' or 'rw'")
    if not target.startswith("/"):
        raise _fail("mount", f"{raw!r}: the mountpoint {target!r} must be an absolute path")
    if _has_dotdot(target):
        raise _fail("mount", f"{raw!r}: '..' is not allowed in the mountpoint")
    if source.startswith("/"):
        if _has_dotdot(source):
            raise _fail(
                "mount",
                f"{raw!r}: '..' is not allowed in a project-files path; it would leave the "
                "project's file area",
            )
        return MountSpec(MountKind.PROJECT_FILES, source, target, mode == "ro")
    if not VOLUME_NAME.match(source):
        raise _fail(
            "mount",
            f"{raw!r}: {source!r} is neither a volume name nor a project-files path "
            "starting with '/'",
        )
    return MountSpec(MountKind.VOLUME, source, target, mode == "ro")


MountString = Annotated[str, AfterValidator(_parses(parse_mount))]

_MEMORY = re.compile(r"^(?P<amount>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>b|k|kb|m|mb|g|gb)?$", re.I)
_UNITS = {"b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3}
MIN_MEMORY = 6 * 1024**2  # Docker refuses smaller limits.


def parse_memory(raw: str) -> int:
    """Bytes of a compose-style byte value (`512mb`, `1g`, `1048576`)."""
    match = _MEMORY.match(raw.strip())
    if match is None:
        raise _fail(
            "memory",
            f"{raw!r} is not a byte value: use <amount><unit> with unit b, k, kb, m, mb, g or gb "
            "(e.g. '256mb')",
        )
    unit = (match["unit"] or "b").lower()
    value = int(Decimal(match["amount"]) * _UNITS[unit])
    if value < MIN_MEMORY:
        raise _fail("memory", f"{raw!r} is below the 6mb minimum Docker accepts")
    return value


def parse_cpus(raw: str) -> Decimal:
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise _fail("cpus", f"{raw!r} is not a number of CPU cores (e.g. '0.5' or '2')") from None
    if not value.is_finite() or value <= 0:
        raise _fail("cpus", f"{raw!r}: the CPU limit must be a number above 0")
    if value * 1_000_000_000 != int(value * 1_000_000_000):
        raise _fail("cpus", f"{raw!r}: at most 9 decimal places")
    return value


def _number_to_text(value: Any) -> Any:
    """YAML reads `cpus: 0.5` as a number; the mittwald model wants the string."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


MemoryString = Annotated[
    str, BeforeValidator(_number_to_text), AfterValidator(_parses(parse_memory))
]
CpusString = Annotated[str, BeforeValidator(_number_to_text), AfterValidator(_parses(parse_cpus))]

_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_SCALE = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(raw: str) -> float:
    """Seconds of a compose-style duration (`10s`, `1m30s`, `500ms`)."""
    text = raw.strip()
    if not text or _DURATION.sub("", text):
        raise _fail("duration", f"{raw!r} is not a duration like '10s', '1m30s' or '500ms'")
    return sum(float(n) * _SCALE[u] for n, u in _DURATION.findall(text))


DurationString = Annotated[str, AfterValidator(_parses(parse_duration))]


def _env_value(value: Any) -> Any:
    if isinstance(value, bool):
        raise _fail(
            "env",
            "a boolean is ambiguous here; quote it ('true' or 'false') to pass it as text",
        )
    return _number_to_text(value)


EnvValue = Annotated[str, BeforeValidator(_env_value)]


def _check_env_name(value: str) -> str:
    if not ENV_NAME.match(value):
        raise _fail("env", f"{value!r} is not a valid environment variable name")
    return value


EnvName = Annotated[str, AfterValidator(_check_env_name)]


def _check_host(value: str) -> str:
    if not HOST.match(value):
        raise _fail(
            "uri",
            f"{value!r} is not a registry host (e.g. 'registry.example.com' or "
            "'registry.example.com:5000', without a scheme or path)",
        )
    return value


RegistryHost = Annotated[str, AfterValidator(_check_host)]


DOCKER_HUB = "docker.io"
DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
HTTPS_PORT = ":443"


def image_registry_host(image: str) -> str | None:
    """The registry host an image reference names, or None for Docker Hub's short form.

    Docker's own rule (`splitDockerDomain`): the first path component is a host when it has a
    `.` or `:`, is `localhost`, or has an upper-case letter (`Evil/app` is pulled from `Evil`)."""
    first, sep, _rest = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        return first.lower()
    return None


def registry_address(host: str) -> str:
    """Where requests for a registry host go, in one canonical form to compare two hosts by:
    lower case, HTTPS's `:443` dropped (Docker's port for a host without one), and Docker Hub's
    aliases folded into `docker.io`. Any other port is part of the address."""
    address = host.lower()
    address = address.removesuffix(HTTPS_PORT)
    return DOCKER_HUB if address in DOCKER_HUB_ALIASES else address


def image_registry_address(image: str) -> str:
    """`registry_address` of the registry an image is pulled from (Docker Hub when it names
    none)."""
    host = image_registry_host(image)
    return registry_address(host) if host is not None else DOCKER_HUB


_IMAGE = re.compile(
    r"^(?:(?P<host>[a-zA-Z0-9.-]+(?::[0-9]+)?)/)?"
    r"(?P<path>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>[a-z0-9]+:[a-fA-F0-9]{32,}))?$"
)


def _check_image(value: str) -> str:
    if not _IMAGE.match(value):
        raise _fail(
            "image",
            f"{value!r} is not an image reference like 'nginx:1.27' or "
            "'registry.example.com/team/app:1.0'",
        )
    return value


ImageRef = Annotated[str, AfterValidator(_check_image)]
