"""The values of the operator's policy: capability names, host paths, security options,
logging drivers, network names and addresses, each normalised and checked as the policy file
and the checks compare them. Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import AfterValidator, StrictStr

ANY_PATH = "/"
ANY_CAPABILITY = "ALL"
ANY_SECURITY_OPT = "*"
ANY_NETWORK = "*"
ANY_ADDRESS = "*"
LOOPBACK_ADDRESSES = frozenset({"127.0.0.1", "::1"})
DOCKER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,254}")  # a network made outside syncd
# Docker's default capability set: adding one of these changes nothing, so it needs no policy.
_DOCKER_DEFAULT = """CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID SETUID SETFCAP SETPCAP
    NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE"""
# The other Linux capabilities (capability.h, 0..40), without the CAP_ prefix.
_OTHERS = """DAC_READ_SEARCH LINUX_IMMUTABLE NET_BROADCAST NET_ADMIN IPC_LOCK IPC_OWNER SYS_MODULE
    SYS_RAWIO SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME
    SYS_TTY_CONFIG LEASE AUDIT_CONTROL MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND
    AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE"""
DEFAULT_CAPABILITIES = frozenset(_DOCKER_DEFAULT.split())
CAPABILITIES = DEFAULT_CAPABILITIES | frozenset(_OTHERS.split())
# Logging drivers that keep the logs on the host, in Docker's own files (or drop them).
LOCAL_LOGGING_DRIVERS = ("json-file", "local", "none")
NO_NEW_PRIVILEGES = "no-new-privileges"
_TRUE = frozenset({"1", "t", "T", "true", "TRUE", "True"})
# Namespaced sysctls: the only ones Docker lets a container set (`net.*` not with host network).
_NAMESPACED_SYSCTLS = re.compile(
    r"(kernel\.(msgmax|msgmnb|msgmni|sem|shmall|shmmax|shmmni|shm_rmid_forced)"
    r"|fs\.mqueue\.[a-z_]+|net\.[a-z0-9_.-]+)"
)
_DRIVER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,254}")


def clip(text: str, size: int = 80) -> str:
    """`text` cut to `size` characters, marked `...` when cut: the scrubber then finds a
    secret quoted cut short (`taint.scrub`), which a bare slice would let through."""
    return text if len(text) <= size else text[:size] + "..."


def normalize_path(path: str) -> str | None:
    """The canonical form of an absolute host path (`//a/./b/` -> `/a/b`), or None when it is
    not one: relative, `~`, a `..` segment (which a symlink could redirect), a NUL or newline.
    Case is kept: Linux paths are case-sensitive."""
    if not path.startswith("/") or any(c in path for c in "\x00\n\r"):
        return None
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        return None
    return "/" + "/".join(parts)


def normalize_capability(name: str) -> str:
    """Docker's spelling of a capability: upper case, no `CAP_` prefix (`cap_net_admin`)."""
    upper = name.strip().upper()
    return upper.removeprefix("CAP_")


def normalize_security_opt(option: str) -> str:
    """`key=value` with a lower-case key: Docker reads `label:disable` as `label=disable`."""
    text = option.strip()
    at = min((i for i in (text.find("="), text.find(":")) if i >= 0), default=-1)
    if at < 0:
        return text.lower()
    return f"{text[:at].strip().lower()}={text[at + 1 :].strip()}"


def _host_path(value: str) -> str:
    normal = normalize_path(value)
    if normal is None:
        raise ValueError(
            f"{clip(value)!r} is not an absolute host path without '..' (write it as /a/b)"
        )
    return normal


def _capability(value: str) -> str:
    name = normalize_capability(value)
    if name != ANY_CAPABILITY and name not in CAPABILITIES:
        raise ValueError(f"{clip(value)!r} is not a Linux capability (e.g. NET_ADMIN, or ALL)")
    return name


def _security_opt(value: str) -> str:
    normal = normalize_security_opt(value)
    if not normal or any(c in normal for c in "\x00\n\r"):
        raise ValueError(f"{clip(value)!r} is not a security option (e.g. seccomp=unconfined)")
    return normal


def _driver(value: str) -> str:
    if not _DRIVER.fullmatch(value):
        raise ValueError(f"{clip(value)!r} is not a logging driver name (e.g. json-file)")
    return value


def _plugin(value: str) -> str:
    if value != "*" and not _DRIVER.fullmatch(value):
        raise ValueError(f"{clip(value)!r} is not a driver or type name (e.g. nfs, or *)")
    return value


def _network(value: str) -> str:
    if value != ANY_NETWORK and not DOCKER_NAME.fullmatch(value):
        raise ValueError(f"{clip(value)!r} is not a Docker network name (e.g. proxy, or *)")
    return value


def _address(value: str) -> str:
    if value == ANY_ADDRESS:
        return value
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError(f'{clip(value)!r} is not an IP address (or "*" for any)') from None


def _project(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", value):
        raise ValueError(f"{clip(value)!r} is not a project name (a DNS label, e.g. shop)")
    return value


HostPath = Annotated[StrictStr, AfterValidator(_host_path)]
Capability = Annotated[StrictStr, AfterValidator(_capability)]
SecurityOpt = Annotated[StrictStr, AfterValidator(_security_opt)]
LoggingDriver = Annotated[StrictStr, AfterValidator(_driver)]
NetworkName = Annotated[StrictStr, AfterValidator(_network)]
PluginName = Annotated[StrictStr, AfterValidator(_plugin)]
Address = Annotated[StrictStr, AfterValidator(_address)]
ProjectName = Annotated[StrictStr, AfterValidator(_project)]
