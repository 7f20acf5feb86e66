"""The value formats of the security option group, as the Docker engine reads them: each
`check_*` is a pydantic validator (it raises a located-able `PydanticCustomError` or returns the
value as written), each other function gives the canonical value of an accepted one.
Messages quote at most a clipped value. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic_core import PydanticCustomError

from syncd.manifests.compose.units import parse_bytes
from syncd.manifests.quantities import parse_duration, parse_memory
from syncd.policy import (
    ANY_CAPABILITY,
    CAPABILITIES,
    Allowed,
    normalize_capability,
    normalize_path,
)
from syncd.policy import check_sysctl as policy_sysctl

CPUSET = r"^[0-9]{1,4}(-[0-9]{1,4})?(,[0-9]{1,4}(-[0-9]{1,4})?){0,255}$"
# docker/go-units ulimit names (the Docker CLI and Compose accept exactly these).
ULIMITS = frozenset(
    [
        "core",
        "cpu",
        "data",
        "fsize",
        "locks",
        "memlock",
        "msgqueue",
        "nice",
        "nofile",
        "nproc",
        "rss",
        "rtprio",
        "rttime",
        "sigpending",
        "stack",
    ]
)
# Mount flags and data options a tmpfs takes (moby `pkg/mount` / the kernel's tmpfs).
TMPFS_FLAGS = frozenset(
    [
        "rw",
        "ro",
        "exec",
        "noexec",
        "suid",
        "nosuid",
        "dev",
        "nodev",
        "sync",
        "async",
        "dirsync",
        "mand",
        "nomand",
        "atime",
        "noatime",
        "diratime",
        "nodiratime",
        "relatime",
        "norelatime",
        "strictatime",
        "nostrictatime",
    ]
)
TMPFS_DATA = frozenset({"size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol"})
_TMPFS_VALUE = re.compile(r"[A-Za-z0-9%:._-]{1,64}")
_CGROUP_RULE = re.compile(r"[acb] ([0-9]{1,10}|\*):([0-9]{1,10}|\*) [rwm]{1,3}")
_BOOLS = {"1": True, "t": True, "true": True, "0": False, "f": False, "false": False}
_NO_POLICY = Allowed(project="-")
MAX_PATH = 4096
UNLIMITED = 2**64  # an rlimit of -1: RLIM_INFINITY


def _fail(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


def _clip(text: str, size: int = 60) -> str:
    return text if len(text) <= size else text[:size] + "..."


def check_capability(value: str) -> str:
    name = normalize_capability(value)
    if name != ANY_CAPABILITY and name not in CAPABILITIES:
        raise _fail(
            "capability", f"{_clip(value)!r} is not a Linux capability (e.g. NET_ADMIN, or ALL)"
        )
    return value


def capabilities(values: Iterable[str]) -> list[str]:
    """Docker's spelling, sorted, once each; `ALL` stands for every other name."""
    names = {normalize_capability(v) for v in values}
    return [ANY_CAPABILITY] if ANY_CAPABILITY in names else sorted(names)


def _split_option(option: str) -> tuple[str, str | None]:
    """`key=value` or the deprecated `key:value` (the engine reads `=` first), or a bare key."""
    for separator in ("=", ":"):
        if separator in option:
            key, _, value = option.partition(separator)
            return key.strip().lower(), value.strip()
    return option.strip().lower(), None


def security_opt(option: str) -> str:
    """The canonical form: `key=value`; `no-new-privileges` alone or true-ish -> `=true`."""
    key, value = _split_option(option)
    if key == "no-new-privileges":
        return f"{key}={'true' if value is None or _BOOLS[value.lower()] else 'false'}"
    return key if value is None else f"{key}={value}"


def check_security_opt(option: str) -> str:
    if any(c in option for c in "\x00\n\r"):
        raise _fail("security_opt", "a security option is one line without NUL characters")
    key, value = _split_option(option)
    if key == "no-new-privileges":
        if value is not None and value.lower() not in _BOOLS:
            raise _fail("security_opt", "no-new-privileges takes true or false")
    elif key == "seccomp":
        if not value:
            raise _fail("security_opt", "seccomp= names a profile file, unconfined or JSON")
        if value.startswith("/"):
            raise _fail(
                "security_opt",
                "seccomp=<absolute path> names a file on the host: syncd reads the profile from "
                "the repository; commit it and name it relative to the manifest",
            )
    elif key == "systempaths":
        raise _fail(
            "security_opt", "systempaths=unconfined is not carried by syncd yet (masked paths)"
        )
    elif key not in ("label", "apparmor") or not value:
        raise _fail(
            "security_opt",
            f"{_clip(option)!r} is not a security option the engine takes: no-new-privileges, "
            "label=..., apparmor=... or seccomp=...",
        )
    return option


def security_opts(options: Iterable[str]) -> list[str]:
    return sorted({security_opt(o) for o in options})


def check_device_path(value: str) -> str:
    if normalize_path(value) is None or len(value) > MAX_PATH:
        raise _fail(
            "device", f"{_clip(value)!r} is not an absolute path without '..' (e.g. /dev/fuse)"
        )
    return value


def _permissions(text: str) -> bool:
    return bool(re.fullmatch(r"[rwm]{1,3}", text))


def device(value: str | dict[str, str | None]) -> str:
    """`source:target:permissions` (Docker's own spelling) of a short or long device."""
    if isinstance(value, dict):
        source = str(value["source"])
        target = value.get("target") or source
        return f"{source}:{target}:{value.get('permissions') or 'rwm'}"
    parts = value.split(":")
    if len(parts) == 2 and _permissions(parts[1]):
        parts = [parts[0], parts[0], parts[1]]
    source = parts[0]
    target = parts[1] if len(parts) > 1 and parts[1] else source
    permissions = parts[2] if len(parts) > 2 else "rwm"
    return f"{source}:{target}:{permissions}"


def check_device(value: str) -> str:
    parts = value.split(":")
    if not value.startswith("/"):
        raise _fail(
            "device",
            f"{_clip(value)!r}: device names (CDI) need Engine API 1.45; this engine takes host "
            "paths like /dev/fuse",
        )
    if len(parts) > 3:
        raise _fail("device", f"{_clip(value)!r} is not /dev/x[:/dev/y[:rwm]]")
    check_device_path(parts[0])
    if len(parts) == 2 and not _permissions(parts[1]):
        check_device_path(parts[1])
    if len(parts) == 3:
        check_device_path(parts[1])
        if not _permissions(parts[2]):
            raise _fail("device", f"{_clip(parts[2])!r} is not permissions like rwm, r or rw")
    return value


def check_cgroup_rule(value: str) -> str:
    if not _CGROUP_RULE.fullmatch(value):
        raise _fail(
            "device_cgroup_rules",
            f"{_clip(value)!r} is not a rule like 'c 1:3 mr' (type a|b|c, major:minor, rwm)",
        )
    return value


def tmpfs(value: str) -> tuple[str, str]:
    """(mount point, options as written)."""
    target, _, options = value.partition(":")
    return "/" + "/".join(p for p in target.split("/") if p not in ("", ".")), options


def check_tmpfs(value: str) -> str:
    target, _, options = value.partition(":")
    if normalize_path(target) is None or len(target) > MAX_PATH or target.strip() == "/":
        raise _fail("tmpfs", f"{_clip(target)!r} is not an absolute mount point (e.g. /run)")
    for option in options.split(",") if options else ():
        name, equals, data = option.partition("=")
        if not equals and name in TMPFS_FLAGS:
            continue
        if equals and name in TMPFS_DATA and _TMPFS_VALUE.fullmatch(data):
            continue
        raise _fail(
            "tmpfs",
            f"{_clip(option)!r} is not a tmpfs option (size=64m, mode=1777, uid=, gid=, "
            "noexec, nosuid, ...)",
        )
    return value


def byte_count(value: int | str) -> int:
    parsed = parse_bytes(value)
    if isinstance(parsed, str):
        raise _fail("bytes", parsed)
    return parsed


def check_bytes(value: int | str) -> int | str:
    byte_count(value)
    return value


def memory_bytes(value: str) -> int:
    """The model's memory limit (`256mb`)."""
    return parse_memory(value)


def check_swap_bytes(value: int | str) -> int | str:
    return value if value == -1 else check_bytes(value)


def swap_bytes(value: int | str) -> int:
    return -1 if value == -1 else byte_count(value)


def micros(value: int | str) -> int:
    """Microseconds of a CPU time: a number (microseconds) or a duration (`10ms`)."""
    if isinstance(value, int):
        return value
    text = value.strip()
    number = text.removesuffix("us")
    if re.fullmatch(r"-?[0-9]{1,12}", number):
        return int(number)
    return round(parse_duration(text) * 1_000_000)


def check_micros(value: int | str) -> int | str:
    try:
        count = micros(value)
    except (ValueError, PydanticCustomError):
        raise _fail(
            "cpu_time", f"{_clip(str(value))!r} is microseconds (a number) or a duration like 10ms"
        ) from None
    if count < -1 or count > 10**12:
        raise _fail("cpu_time", f"{count} is out of range (-1 .. 10^12 microseconds)")
    return value


def sysctl_problem(name: str) -> str | None:
    """Why the engine refuses sysctl `name` whatever the policy (D12: not namespaced), or None."""
    refusal = policy_sysctl(_NO_POLICY, name, host_network=False)
    return None if refusal is None else refusal.what


def check_sysctl(name: str) -> str:
    problem = sysctl_problem(name)
    if problem is not None:
        raise _fail("sysctl", problem)
    return name


def check_scalar(value: str | int | float) -> str | int | float:
    if isinstance(value, str) and "\x00" in value:
        raise _fail("nul", "a NUL character (\\0) is not allowed: Docker cannot pass it on")
    return value


def scalar_text(value: str | int | float) -> str:
    return value if isinstance(value, str) else str(value)


def check_ulimit_name(name: str) -> str:
    if name not in ULIMITS:
        raise _fail("ulimit", f"{_clip(name)!r} is not a ulimit ({', '.join(sorted(ULIMITS))})")
    return name


def rlimit(value: int) -> int:
    return UNLIMITED if value == -1 else value


def check_key(value: str) -> str:
    if any(c in value for c in "\x00=\n"):
        raise _fail("option", f"{_clip(value)!r} is not an option name")
    return value


# Logging options every driver takes, or json-file's and local's own: without a named driver
# (the daemon's default) only these; another driver's (`syslog-address`, `fluentd-address`, ...)
# would send the logs where the operator did not choose.
LOCAL_LOG_OPTIONS = frozenset(
    [
        "max-size",
        "max-file",
        "compress",
        "labels",
        "labels-regex",
        "env",
        "env-regex",
        "tag",
        "mode",
        "max-buffer-size",
    ]
)


def logging_problem(driver: str | None, options: Iterable[str]) -> str | None:
    if driver is not None:
        return None
    foreign = sorted(set(options) - LOCAL_LOG_OPTIONS)
    if not foreign:
        return None
    return (
        f"option {_clip(foreign[0])!r} belongs to a logging driver: name the driver (the "
        "operator's policy decides which ones are allowed)"
    )


def resource_problems(
    memory: int | None, cpus: bool, limits: dict[str, int | None]
) -> list[tuple[str, str]]:
    """What the engine refuses among the CPU and memory settings of one container, as
    (Compose key, why): `limits` holds memReservation, memswapLimit, cpuQuota, cpuPeriod."""
    found: list[tuple[str, str]] = []
    for key, name in (("cpuQuota", "cpu_quota"), ("cpuPeriod", "cpu_period")):
        if cpus and limits.get(key) is not None:
            found.append((name, f"{name} and cpus (a CPU limit) exclude each other: use one"))
    swap = limits.get("memswapLimit")
    if swap is not None and swap != -1:
        if memory is None:
            found.append(("memswap_limit", "memswap_limit needs a memory limit (mem_limit)"))
        elif swap < memory:
            found.append(("memswap_limit", "memswap_limit is memory + swap: not below mem_limit"))
    reserved = limits.get("memReservation")
    if reserved is not None and memory is not None and reserved > memory:
        found.append(("mem_reservation", "mem_reservation is above the memory limit"))
    return found
