r"""Parsers for the small string languages of a manifest: names, ports, mounts, sizes, durations.

Each parser returns a value object or raises `PydanticCustomError` with a message that says what
was wrong and what is expected. They never echo more than the offending string itself.
Every parser is total and bounded: digits are ASCII only (`[0-9]`, never `\d`, `\w` or
`str.isdigit`, which accept other scripts' digits), patterns match the whole text (`fullmatch`:
`$` would let a trailing newline through), text is length-checked before it is converted, and
every number is range-checked before Docker sees it.
Pure: no I/O.
"""

from __future__ import annotations

import functools
import ipaddress
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

# Every pattern is used with `fullmatch`.
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
VOLUME_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")
ENV_NAME = re.compile(r"[^=\x00]+")
MAX_NUMBER_TEXT = 32  # characters of one number inside a string (a size, a duration, cpus)


def _fail(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


def _clip(text: str, size: int = 40) -> str:
    return text if len(text) <= size else text[:size] + "..."


def check_no_nul(value: str) -> str:
    """Docker passes strings to C (argv, environ, paths): a NUL character cannot get through.
    The message does not echo the value: it may come from the environment (a secret)."""
    if "\x00" in value:
        raise _fail("nul", "a NUL character (\\0) is not allowed: Docker cannot pass it on")
    return value


DockerText = Annotated[str, AfterValidator(check_no_nul)]


T = TypeVar("T")
MAX_REMEMBERED_TEXT = 256  # longer texts are parsed each time: the cache stays small


def _remembered(parser: Callable[[str], T]) -> Callable[[str], T]:
    """`parser` (pure) with its results for short texts remembered: a revision repeats its
    values (`10s`, `256m`) many times. Bounded: 4096 texts of at most 256 characters."""
    cached = functools.lru_cache(maxsize=4096)(parser)

    @functools.wraps(parser)
    def parse(raw: str) -> T:
        return cached(raw) if len(raw) <= MAX_REMEMBERED_TEXT else parser(raw)

    return parse


def _parses(parser: Callable[[str], object], *, remembered: bool = False) -> Callable[[str], str]:
    """A validator that keeps the text as written, once `parser` accepts it (remembered, unless
    the parser remembers its results itself)."""
    accepted = parser if remembered else _remembered(parser)

    def check(value: str) -> str:
        accepted(value)
        return value

    return check


def check_dns_label(value: str) -> str:
    if len(value) > 63:
        raise _fail("name", f"{value[:20]!r}... is {len(value)} characters; names have at most 63")
    if not DNS_LABEL.fullmatch(value):
        raise _fail(
            "name",
            f"{_clip(value)!r} is not a valid name: use lowercase letters, digits and '-', "
            "starting and ending with a letter or digit",
        )
    return value


Name = Annotated[str, AfterValidator(check_dns_label)]

MEMBER_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")


def check_member_name(value: str) -> str:
    """A service or volume name: Compose's alphabet (letters of either case, digits, `_`, `.`,
    `-`), starting with a letter or digit (Docker's rule for container and volume names; never
    `.` or `..`), at most 63 characters (a service name is its DNS name in the project network).
    Engine names stay unambiguous (`shop_default_my_app.web`): project and stack hold no `_`."""
    if len(value) > 63:
        raise _fail("name", f"{value[:20]!r}... is {len(value)} characters; names have at most 63")
    if not MEMBER_NAME.fullmatch(value):
        raise _fail(
            "name",
            f"{_clip(value)!r} is not a valid name: use letters, digits, '_', '.' and '-', "
            "starting with a letter or digit",
        )
    return value


MemberName = Annotated[str, AfterValidator(check_member_name)]


class Protocol(StrEnum):
    TCP = "tcp"
    UDP = "udp"
    SCTP = "sctp"


@dataclass(frozen=True, order=True)
class PortSpec:
    """`8080:80/tcp` (published on the host), `:80/tcp` (on an ephemeral host port Docker picks),
    either with a host address in front (`127.0.0.1:8080:80/tcp`, `[::1]::80/tcp`), or `80/tcp`
    (project network only). No host address: syncd's publish address setting."""

    container: int
    protocol: Protocol
    public: int | None = None
    host_ip: str | None = None
    ephemeral: bool = False
    public_last: int | None = None  # `8000-8010:80`: Docker picks one free host port of the range

    @property
    def published(self) -> bool:
        return self.public is not None or self.ephemeral

    @property
    def fixed(self) -> bool:
        """One host port, held by one container."""
        return self.public is not None and self.public_last is None

    @property
    def host_port(self) -> str:
        """Docker's `HostPort`: `8080`, `8000-8010`, or empty (ephemeral, not published)."""
        if self.public is None:
            return ""
        return str(self.public) if self.public_last is None else f"{self.public}-{self.public_last}"

    def __str__(self) -> str:
        ip = ""
        if self.host_ip is not None:
            ip = f"[{self.host_ip}]:" if ":" in self.host_ip else f"{self.host_ip}:"
        published = f"{self.host_port}:" if self.public is not None else ""
        if self.ephemeral:
            published = ":"
        return f"{ip}{published}{self.container}/{self.protocol}"


_PORT = re.compile(
    r"(?:(?P<ip>\[[0-9a-fA-F:.]+\]|[0-9]{1,3}(?:\.[0-9]{1,3}){3}):)?"
    r"(?:(?P<public>[0-9]*)(?:-(?P<last>[0-9]+))?:)?(?P<container>[0-9]+)"
    r"(?:/(?P<proto>[a-zA-Z]+))?",
    re.ASCII,
)


def _port_number(text: str, role: str, raw: str) -> int:
    number = int(text) if len(text) <= 5 else 0
    if not 1 <= number <= 65535:
        raise _fail("port", f"{_clip(raw)!r}: {role} port {_clip(text)} is outside 1-65535")
    return number


def _host_ip(text: str, raw: str) -> str:
    try:
        return str(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        raise _fail("port", f"{_clip(raw)!r}: {_clip(text)} is not an IP address") from None


@_remembered  # a port is parsed by the model, the policy, the canonical form and the plan
def parse_port(raw: str) -> PortSpec:
    match = _PORT.fullmatch(raw.strip(" \t"))
    if match is None or (match["ip"] is not None and match["public"] is None):
        raise _fail(
            "port",
            f"{_clip(raw)!r} is not <public>:<container>/<proto> or <container>/<proto>, with "
            "an optional host address in front (e.g. '8080:80/tcp', '127.0.0.1:8080:80/tcp', "
            "':80/tcp' for an ephemeral host port, '80/tcp' for the project network only)",
        )
    proto = (match["proto"] or "tcp").lower()
    if proto not in Protocol.__members__.values():
        raise _fail("port", f"{_clip(raw)!r}: protocol {_clip(proto)!r} is not tcp, udp or sctp")
    public, last = match["public"], match["last"]
    if last is not None and not public:
        raise _fail("port", f"{_clip(raw)!r}: a host port range is <first>-<last>")
    first = _port_number(public, "public", raw) if public else None
    end = _port_number(last, "public", raw) if last is not None else None
    if first is not None and end is not None and end <= first:
        raise _fail("port", f"{_clip(raw)!r}: the host port range must end after it starts")
    return PortSpec(
        container=_port_number(match["container"], "container", raw),
        protocol=Protocol(proto),
        public=first,
        host_ip=_host_ip(match["ip"], raw) if match["ip"] is not None else None,
        ephemeral=public == "",
        public_last=end,
    )


PortString = Annotated[str, AfterValidator(_parses(parse_port, remembered=True))]


class MountKind(StrEnum):
    VOLUME = "volume"
    PROJECT_FILES = "project-files"
    REPO = "repo"  # long form: a relative bind (from git, or a data folder)
    HOST = "host"  # long form: an absolute host path
    TMPFS = "tmpfs"  # long form


@dataclass(frozen=True)
class MountSpec:
    """`name:/path[:ro]` (named volume) or `/sub/dir:/path[:ro]` (project files)."""

    kind: MountKind
    source: str
    target: str
    read_only: bool = False


def clean_mountpoint(target: str) -> str:
    """The mountpoint as Docker compares it (`//a/./b/` -> `/a/b`)."""
    return posixpath.normpath("/" + target.lstrip("/"))


def _has_dotdot(path: str) -> bool:
    return any(part == ".." for part in path.split("/"))


@_remembered  # a mount is parsed by the model, the policy, the canonical form and the plan
def parse_mount(raw: str) -> MountSpec:
    check_no_nul(raw)
    parts = raw.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise _fail(
            "mount",
            f"{_clip(raw)!r} is not <volume>:<mountpoint>[:ro|rw] "
            "(e.g. 'data:/var/lib/mysql' or '/html:/var/www:ro')",
        )
    source, target = parts[0], parts[1]
    mode = parts[2] if len(parts) == 3 else "rw"
    if mode not in ("ro", "rw"):
        raise _fail("mount", f"{_clip(raw)!r}: mode {_clip(mode)!r} is not 'ro' or 'rw'")
    if not target.startswith("/"):
        raise _fail(
            "mount", f"{_clip(raw)!r}: the mountpoint {_clip(target)!r} must be an absolute path"
        )
    if _has_dotdot(target):
        raise _fail("mount", f"{_clip(raw)!r}: '..' is not allowed in the mountpoint")
    if clean_mountpoint(target) == "/":
        raise _fail("mount", f"{_clip(raw)!r}: the mountpoint cannot be '/' (Docker refuses it)")
    if source.startswith("/"):
        if _has_dotdot(source):
            raise _fail(
                "mount",
                f"{_clip(raw)!r}: '..' is not allowed in a project-files path; it would leave the "
                "project's file area",
            )
        return MountSpec(MountKind.PROJECT_FILES, source, target, mode == "ro")
    if not VOLUME_NAME.fullmatch(source):
        raise _fail(
            "mount",
            f"{_clip(raw)!r}: {_clip(source)!r} is neither a volume name nor a project-files path "
            "starting with '/'",
        )
    return MountSpec(MountKind.VOLUME, source, target, mode == "ro")


MountString = Annotated[str, AfterValidator(_parses(parse_mount, remembered=True))]

_MEMORY = re.compile(
    r"(?P<amount>[0-9]+(?:\.[0-9]+)?)[ \t]*(?P<unit>b|k|kb|m|mb|g|gb)?", re.I | re.ASCII
)
_UNITS = {"b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3}
MIN_MEMORY = 6 * 1024**2  # Docker refuses smaller limits.
MAX_MEMORY = 2**63 - 1  # Docker's field is a signed 64-bit integer.


@_remembered
def parse_memory(raw: str) -> int:
    """Bytes of a compose-style byte value (`512mb`, `1g`, `1048576`)."""
    match = _MEMORY.fullmatch(raw.strip(" \t"))
    if match is None:
        raise _fail(
            "memory",
            f"{_clip(raw)!r} is not a byte value: use <amount><unit> with unit b, k, kb, m, mb, "
            "g or gb (e.g. '256mb')",
        )
    if len(match["amount"]) > MAX_NUMBER_TEXT:
        raise _fail("memory", f"{_clip(raw)!r} is too large")
    unit = (match["unit"] or "b").lower()
    value = int(Fraction(match["amount"]) * _UNITS[unit])
    if value < MIN_MEMORY:
        raise _fail("memory", f"{_clip(raw)!r} is below the 6mb minimum Docker accepts")
    if value > MAX_MEMORY:
        raise _fail(
            "memory", f"{_clip(raw)!r} is too large: Docker takes at most {MAX_MEMORY} bytes"
        )
    return value


_CPUS = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)
MIN_CPUS = Decimal("0.01")  # Docker's smallest CPU quota (1 ms per 100 ms period)
MAX_CPUS = 8192  # the kernel's largest CPU count (NR_CPUS); Docker refuses more than the host has


@_remembered
def parse_cpus(raw: str) -> Decimal:
    text = raw.strip(" \t")
    if not _CPUS.fullmatch(text):
        raise _fail("cpus", f"{_clip(raw)!r} is not a number of CPU cores (e.g. '0.5' or '2')")
    if len(text) > MAX_NUMBER_TEXT:
        raise _fail("cpus", f"{_clip(raw)!r}: at most {MAX_NUMBER_TEXT} characters")
    value = Decimal(text)
    if value < MIN_CPUS:
        raise _fail(
            "cpus", f"{_clip(raw)!r}: the CPU limit must be at least {MIN_CPUS} (Docker's minimum)"
        )
    if value > MAX_CPUS:
        raise _fail("cpus", f"{_clip(raw)!r}: the CPU limit must be at most {MAX_CPUS}")
    if (Fraction(text) * 10**9).denominator != 1:
        raise _fail("cpus", f"{_clip(raw)!r}: at most 9 decimal places")
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

_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)", re.ASCII)
_DURATIONS = re.compile(r"(?:[0-9]+(?:\.[0-9]+)?(?:ms|s|m|h))+", re.ASCII)
_SCALE = {"ms": Fraction(1, 1000), "s": Fraction(1), "m": Fraction(60), "h": Fraction(3600)}
MIN_DURATION = Fraction(1, 1000)  # Docker refuses a healthcheck duration under 1ms (but 0)
MAX_DURATION = Fraction(365 * 24 * 3600)  # a year: far below Docker's 64-bit nanoseconds


@_remembered
def parse_duration(raw: str) -> float:
    """Seconds of a compose-style duration (`10s`, `1m30s`, `500ms`)."""
    text = raw.strip(" \t")
    if not _DURATIONS.fullmatch(text):
        raise _fail("duration", f"{_clip(raw)!r} is not a duration like '10s', '1m30s' or '500ms'")
    parts = _DURATION.findall(text)
    if len(parts) > len(_SCALE):
        raise _fail("duration", f"{_clip(raw)!r} has more than {len(_SCALE)} parts")
    if any(len(number) > MAX_NUMBER_TEXT for number, _unit in parts):
        raise _fail("duration", f"{_clip(raw)!r} is too large: at most 8760h (a year)")
    seconds = sum((Fraction(number) * _SCALE[unit] for number, unit in parts), Fraction(0))
    if seconds > MAX_DURATION:
        raise _fail("duration", f"{_clip(raw)!r} is too large: at most 8760h (a year)")
    if 0 < seconds < MIN_DURATION:
        raise _fail(
            "duration", f"{_clip(raw)!r} is below 1ms, the shortest duration Docker accepts"
        )
    return float(seconds)


DurationString = Annotated[str, AfterValidator(_parses(parse_duration))]


def _env_value(value: Any) -> Any:
    if isinstance(value, bool):
        raise _fail(
            "env",
            "a boolean is ambiguous here; quote it ('true' or 'false') to pass it as text",
        )
    return _number_to_text(value)


EnvValue = Annotated[str, BeforeValidator(_env_value), AfterValidator(check_no_nul)]


def _check_env_name(value: str) -> str:
    if not ENV_NAME.fullmatch(value):
        raise _fail("env", f"{_clip(value)!r} is not a valid environment variable name")
    return value


EnvName = Annotated[str, AfterValidator(_check_env_name)]
