r"""Parsers for the small string languages of a manifest: names, ports, mounts (its sizes, CPU
counts and durations are in `quantities`).

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
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

# Every pattern is used with `fullmatch`.
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
VOLUME_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")
ENV_NAME = re.compile(r"[^=\x00]+")
MAX_NUMBER_TEXT = 32  # characters of one number inside a string (a size, a duration, cpus)


def fail(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


def clip(text: str, size: int = 40) -> str:
    return text if len(text) <= size else text[:size] + "..."


def check_no_nul(value: str) -> str:
    """Docker passes strings to C (argv, environ, paths): a NUL character cannot get through.
    The message does not echo the value: it may come from the environment (a secret)."""
    if "\x00" in value:
        raise fail("nul", "a NUL character (\\0) is not allowed: Docker cannot pass it on")
    return value


DockerText = Annotated[str, AfterValidator(check_no_nul)]


T = TypeVar("T")
MAX_REMEMBERED_TEXT = 256  # longer texts are parsed each time: the cache stays small


def cached_parser(parser: Callable[[str], T]) -> Callable[[str], T]:
    """`parser` (pure) with its results for short texts remembered: a revision repeats its
    values (`10s`, `256m`) many times. Bounded: 4096 texts of at most 256 characters."""
    cached = functools.lru_cache(maxsize=4096)(parser)

    @functools.wraps(parser)
    def parse(raw: str) -> T:
        return cached(raw) if len(raw) <= MAX_REMEMBERED_TEXT else parser(raw)

    return parse


def parses(parser: Callable[[str], object], *, remembered: bool = False) -> Callable[[str], str]:
    """A validator that keeps the text as written, once `parser` accepts it (remembered, unless
    the parser remembers its results itself)."""
    accepted = parser if remembered else cached_parser(parser)

    def check(value: str) -> str:
        accepted(value)
        return value

    return check


def check_dns_label(value: str) -> str:
    if len(value) > 63:
        raise fail("name", f"{value[:20]!r}... is {len(value)} characters; names have at most 63")
    if not DNS_LABEL.fullmatch(value):
        raise fail(
            "name",
            f"{clip(value)!r} is not a valid name: use lowercase letters, digits and '-', "
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
        raise fail("name", f"{value[:20]!r}... is {len(value)} characters; names have at most 63")
    if not MEMBER_NAME.fullmatch(value):
        raise fail(
            "name",
            f"{clip(value)!r} is not a valid name: use letters, digits, '_', '.' and '-', "
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
        raise fail("port", f"{clip(raw)!r}: {role} port {clip(text)} is outside 1-65535")
    return number


def _host_ip(text: str, raw: str) -> str:
    try:
        return str(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        raise fail("port", f"{clip(raw)!r}: {clip(text)} is not an IP address") from None


@cached_parser  # a port is parsed by the model, the policy, the canonical form and the plan
def parse_port(raw: str) -> PortSpec:
    match = _PORT.fullmatch(raw.strip(" \t"))
    if match is None or (match["ip"] is not None and match["public"] is None):
        raise fail(
            "port",
            f"{clip(raw)!r} is not <public>:<container>/<proto> or <container>/<proto>, with "
            "an optional host address in front (e.g. '8080:80/tcp', '127.0.0.1:8080:80/tcp', "
            "':80/tcp' for an ephemeral host port, '80/tcp' for the project network only)",
        )
    proto = (match["proto"] or "tcp").lower()
    if proto not in Protocol.__members__.values():
        raise fail("port", f"{clip(raw)!r}: protocol {clip(proto)!r} is not tcp, udp or sctp")
    public, last = match["public"], match["last"]
    if last is not None and not public:
        raise fail("port", f"{clip(raw)!r}: a host port range is <first>-<last>")
    first = _port_number(public, "public", raw) if public else None
    end = _port_number(last, "public", raw) if last is not None else None
    if first is not None and end is not None and end <= first:
        raise fail("port", f"{clip(raw)!r}: the host port range must end after it starts")
    return PortSpec(
        container=_port_number(match["container"], "container", raw),
        protocol=Protocol(proto),
        public=first,
        host_ip=_host_ip(match["ip"], raw) if match["ip"] is not None else None,
        ephemeral=public == "",
        public_last=end,
    )


PortString = Annotated[str, AfterValidator(parses(parse_port, remembered=True))]


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


@cached_parser  # a mount is parsed by the model, the policy, the canonical form and the plan
def parse_mount(raw: str) -> MountSpec:
    check_no_nul(raw)
    parts = raw.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise fail(
            "mount",
            f"{clip(raw)!r} is not <volume>:<mountpoint>[:ro|rw] "
            "(e.g. 'data:/var/lib/mysql' or '/html:/var/www:ro')",
        )
    source, target = parts[0], parts[1]
    mode = parts[2] if len(parts) == 3 else "rw"
    if mode not in ("ro", "rw"):
        raise fail("mount", f"{clip(raw)!r}: mode {clip(mode)!r} is not 'ro' or 'rw'")
    if not target.startswith("/"):
        raise fail(
            "mount", f"{clip(raw)!r}: the mountpoint {clip(target)!r} must be an absolute path"
        )
    if _has_dotdot(target):
        raise fail("mount", f"{clip(raw)!r}: '..' is not allowed in the mountpoint")
    if clean_mountpoint(target) == "/":
        raise fail("mount", f"{clip(raw)!r}: the mountpoint cannot be '/' (Docker refuses it)")
    if source.startswith("/"):
        if _has_dotdot(source):
            raise fail(
                "mount",
                f"{clip(raw)!r}: '..' is not allowed in a project-files path; it would leave the "
                "project's file area",
            )
        return MountSpec(MountKind.PROJECT_FILES, source, target, mode == "ro")
    if not VOLUME_NAME.fullmatch(source):
        raise fail(
            "mount",
            f"{clip(raw)!r}: {clip(source)!r} is neither a volume name nor a project-files path "
            "starting with '/'",
        )
    return MountSpec(MountKind.VOLUME, source, target, mode == "ro")


MountString = Annotated[str, AfterValidator(parses(parse_mount, remembered=True))]


def number_to_text(value: Any) -> Any:
    """YAML reads `cpus: 0.5` as a number; the mittwald model wants the string."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _env_value(value: Any) -> Any:
    if isinstance(value, bool):
        raise fail(
            "env",
            "a boolean is ambiguous here; quote it ('true' or 'false') to pass it as text",
        )
    return number_to_text(value)


EnvValue = Annotated[str, BeforeValidator(_env_value), AfterValidator(check_no_nul)]


def _check_env_name(value: str) -> str:
    if not ENV_NAME.fullmatch(value):
        raise fail("env", f"{clip(value)!r} is not a valid environment variable name")
    return value


EnvName = Annotated[str, AfterValidator(_check_env_name)]
