"""Service fields for the process and its identity: user, working dir, host name, labels,
init, tty, stop signal and grace period, /etc/hosts and DNS, platform and pull policy.

Named as the Compose Specification names them, in camelCase (`cap_add` -> `capAdd`), with
Compose's meaning. Each value is checked here as Docker would check it, so a bad one is a
located manifest error and never an engine error at apply time. Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
import math
import re
from enum import StrEnum
from fractions import Fraction
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from syncd.manifests.fields import EnvValue, check_no_nul
from syncd.manifests.quantities import parse_duration
from syncd.manifests.strict import StrictModel

# syncd's own labels (`engine.base.LABEL_PREFIX`): ownership, identity, config hash. A label of
# the manifest in this namespace could forge another instance's ownership: refused.
RESERVED_LABEL_PREFIX = "syncd."
MAX_LIST = 1_000  # entries of one list field: far above any real stack
MAX_HOSTNAME = 63  # the kernel's HOST_NAME_MAX is 64 with the NUL
MAX_DOMAIN = 253  # a DNS name
# syncd waits this long for a container to stop while it applies (a longer wait would hold the
# sync of every stack): a longer grace period is refused.
MAX_GRACE_PERIOD = 3600
HOST_GATEWAY = "host-gateway"  # Docker's name for the host's address (Docker 20.10+)

_LABEL = r"[A-Za-z0-9]([-A-Za-z0-9_]*[A-Za-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(\.{_LABEL})*\.?", re.ASCII)
_MAC = re.compile(r"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}", re.ASCII)
_PLATFORM = re.compile(r"[a-z0-9_]+/[a-z0-9_]+(/[a-z0-9_.]+)?", re.ASCII)
_SIGNAL_NUMBER = re.compile(r"[0-9]{1,2}", re.ASCII)
_RT = re.compile(r"RTM(IN|AX)([+-][0-9]{1,2})?", re.ASCII)
# Linux signal names as Docker's `signal.ParseSignal` knows them (without `SIG`).
SIGNALS = frozenset(
    {
    "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT",
    "KILL", "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM",
    "TRAP", "TSTP", "TTIN", "TTOU", "UNUSED", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU",
    "XFSZ",
    }
)  # fmt: skip
MAX_SIGNAL = 64


def _fail(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


def _clip(text: str, size: int = 40) -> str:
    return text if len(text) <= size else text[:size] + "..."


def canonical_signal(raw: str) -> str:
    """`term`, `TERM`, `SIGTERM` -> `SIGTERM`; a number stays a number (`15`)."""
    text = raw.strip()
    if _SIGNAL_NUMBER.fullmatch(text):
        if not 1 <= int(text) <= MAX_SIGNAL:
            raise _fail("signal", f"{_clip(raw)!r}: a signal number is 1-{MAX_SIGNAL}")
        return str(int(text))
    name = text.upper().removeprefix("SIG")
    if name not in SIGNALS and not _RT.fullmatch(name):
        raise _fail(
            "signal", f"{_clip(raw)!r} is not a signal: use a name like SIGTERM or a number"
        )
    return f"SIG{name}"


def _parses_duration(value: str) -> str:
    parse_duration(value)
    return value


def grace_seconds(text: str) -> int:
    """A duration as Docker's whole-second `StopTimeout`, rounded up (`500ms` -> 1)."""
    return math.ceil(Fraction(parse_duration(text)).limit_denominator(1000))


def _grace(value: str) -> str:
    seconds = grace_seconds(value)
    if seconds > MAX_GRACE_PERIOD:
        raise _fail(
            "duration",
            f"{_clip(value)!r} is too long: a grace period is at most {MAX_GRACE_PERIOD // 60}m "
            "(syncd waits for the container while it applies)",
        )
    return value


def _signal(value: str) -> str:
    canonical_signal(value)
    return value


def _text(value: object) -> object:
    """A user or group written as a YAML number (`user: 1000`) is that text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _user(value: str) -> str:
    check_no_nul(value)
    if not value or any(c.isspace() for c in value) or value.count(":") > 1:
        raise _fail("user", f"{_clip(value)!r} is not a user: use 'uid', 'name', 'uid:gid'")
    return value


def _absolute(value: str) -> str:
    check_no_nul(value)
    if not value.startswith("/"):
        raise _fail("path", f"{_clip(value)!r} is not an absolute path (Docker needs one)")
    return value


def _hostname(value: str, limit: int = MAX_HOSTNAME) -> str:
    if len(value) > limit or not _HOST.fullmatch(value):
        raise _fail(
            "hostname",
            f"{_clip(value)!r} is not a host name: letters, digits, '-' and '.', "
            f"at most {limit} characters",
        )
    return value


def _domain(value: str) -> str:
    return _hostname(value, MAX_DOMAIN)


def _address(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise _fail("ip", f"{_clip(value)!r} is not an IP address") from None
    return value


def split_extra_host(entry: str) -> tuple[str, str] | None:
    """`host:ip` or `host=ip` (Compose tries `=` first, so `v6:::1` is `v6` -> `::1`); an IPv6
    address may be written in brackets. None when `entry` has neither separator."""
    for sep in ("=", ":"):
        host, found, address = entry.partition(sep)
        if found:
            if address.startswith("[") and address.endswith("]"):
                address = address[1:-1]
            return host, address
    return None


def _extra_host(value: str) -> str:
    parts = split_extra_host(value)
    if parts is None:
        raise _fail("extra_host", f"{_clip(value)!r} is not 'host:ip'")
    host, address = parts
    _hostname(host)
    if address != HOST_GATEWAY:
        _address(address)
    return f"{host}:{address}"


def _label_key(value: str) -> str:
    check_no_nul(value)
    if not value:
        raise _fail("label", "a label needs a name")
    if value.lower().startswith(RESERVED_LABEL_PREFIX):
        raise _fail(
            "label",
            f"label {_clip(value)!r}: names starting with {RESERVED_LABEL_PREFIX!r} are syncd's "
            "own (ownership and config hash); choose another name",
        )
    return value


def _mac(value: str) -> str:
    if not _MAC.fullmatch(value):
        raise _fail("mac", f"{_clip(value)!r} is not a MAC address like '02:42:ac:11:00:02'")
    return value


def _platform(value: str) -> str:
    if not _PLATFORM.fullmatch(value):
        raise _fail("platform", f"{_clip(value)!r} is not a platform like 'linux/amd64'")
    return value


def _word(value: str) -> str:
    check_no_nul(value)
    if not value or any(c.isspace() for c in value):
        raise _fail("word", f"{_clip(value)!r}: a non-empty word without blanks is expected")
    return value


Signal = Annotated[str, AfterValidator(_signal)]
GracePeriod = Annotated[str, AfterValidator(_parses_duration), AfterValidator(_grace)]
User = Annotated[str, BeforeValidator(_text), AfterValidator(_user)]
AbsolutePath = Annotated[str, AfterValidator(_absolute)]
HostName = Annotated[str, AfterValidator(_hostname)]
Domain = Annotated[str, AfterValidator(_domain)]
ExtraHost = Annotated[str, AfterValidator(_extra_host)]
IpAddress = Annotated[str, AfterValidator(_address)]
LabelKey = Annotated[str, AfterValidator(_label_key)]
Word = Annotated[str, BeforeValidator(_text), AfterValidator(_word)]
MacAddress = Annotated[str, AfterValidator(_mac)]
Platform = Annotated[str, AfterValidator(_platform)]


class PullPolicy(StrEnum):
    ALWAYS = "always"  # pull whenever the service gets a new container
    NEVER = "never"  # use only an image the engine has
    MISSING = "missing"  # pull only when the engine lacks the image (Docker's and syncd's default)


class ProcessFields(StrictModel):
    """Mixed into `model.Service`."""

    user: User | None = Field(None, description="'uid', 'name', 'uid:gid' or 'name:group'")
    working_dir: AbsolutePath | None = Field(None, description="the process's working directory")
    hostname: HostName | None = None
    domainname: HostName | None = None
    labels: dict[LabelKey, EnvValue] | None = Field(
        None, description="container labels; names starting with 'syncd.' are refused"
    )
    init: bool | None = Field(None, description="run Docker's init as PID 1")
    tty: bool | None = None
    stdin_open: bool | None = None
    stop_signal: Signal | None = Field(None, description="e.g. 'SIGTERM', 'TERM' or '15'")
    stop_grace_period: GracePeriod | None = Field(
        None, description="time before SIGKILL, e.g. '30s' (whole seconds, rounded up)"
    )
    extra_hosts: list[ExtraHost] | None = Field(None, description="'host:ip'", max_length=MAX_LIST)
    dns: list[IpAddress] | None = Field(None, max_length=MAX_LIST)
    dns_search: list[Domain] | None = Field(None, max_length=MAX_LIST)
    dns_opt: list[Word] | None = Field(None, max_length=MAX_LIST)
    group_add: list[Word] | None = Field(None, max_length=MAX_LIST)
    platform: Platform | None = Field(None, description="e.g. 'linux/amd64'")
    pull_policy: PullPolicy | None = Field(None, description="always, never or missing")
    mac_address: MacAddress | None = None
