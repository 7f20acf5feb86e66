"""Every place of a Compose file that could reach the host, checked against the operator's policy.

`compose_findings` walks a Compose file's mapping (top-level `services`, `volumes`, `networks`,
`configs`, `secrets`, `include`) and returns one `Finding` per refused value, at its path, so
the caller reports it at file:line:col (`Located.problem(finding.path, str(finding.refusal))`,
which also scrubs tainted values). Run it on interpolated values (a `${DIR}:/data` bind is only
known after interpolation) and again on the final spec after StackPatches (a patch may add a
`cap_add`). Keys are looked up in Compose's snake_case and in syncd's camelCase (`cap_add`,
`capAdd`), so the native `Stack` kind is checked by the same walk, with `project_files=True`: in
a native `Stack`, `/uploads:/data` is a path in the project's file area, not on the host.
Shapes the model would refuse are skipped here: the model reports them. Pure: no I/O.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic.alias_generators import to_camel

from syncd.manifests.keyprobe import keys_read, may_find
from syncd.manifests.policylimits import ulimit_refusals
from syncd.manifests.policytop import (
    Finding,
    any_path,
    file_source_findings,
    host_file,
    include_findings,
    indexed,
    network_findings,
    volume_findings,
)
from syncd.manifests.policyvolumes import check_volume_driver
from syncd.manifests.portguard import port_findings
from syncd.manifests.yamlsafe import Document, Path, pointer
from syncd.policy import (
    BUILTIN,
    Allowed,
    PolicyKey,
    Refusal,
    check_bind,
    check_capabilities,
    check_flag,
    check_logging,
    check_namespace,
    check_security_opt,
    check_sysctl,
    clip,
)
from syncd.problems import Problem

DOCKER_SOCKET = "/var/run/docker.sock"
# Compose keys that share a namespace with the host or another container; `net` is Compose v1's.
NAMESPACE_KEYS = {
    "network_mode": "network_mode", "net": "network_mode", "pid": "pid", "ipc": "ipc",
    "uts": "uts", "userns_mode": "userns_mode", "cgroup": "cgroup",
}  # fmt: skip
# `blkio_config` entries that name a host block device by its path.
BLKIO_DEVICE_KEYS = (
    "weight_device", "device_read_bps", "device_write_bps", "device_read_iops", "device_write_iops",
)  # fmt: skip
# Keys naming a file syncd itself would read: an absolute one is a host path.
FILE_KEYS = ("env_file", "label_file")


@dataclass(frozen=True)
class _Spelled:
    """A service read in one spelling: Compose's `cap_add`, or syncd's `capAdd`. Both are
    walked, so a mapping that holds both spellings of a key is checked for each."""

    mapping: Mapping[str, Any]
    camel: bool


@functools.cache
def _camel(key: str) -> str:
    return to_camel(key)  # pydantic's is a few regex passes: once per key name, not per read


def _get(svc: _Spelled, key: str) -> tuple[str, Any]:
    """The key as spelled in this reading, and its value (None when absent)."""
    spelling = _camel(key) if svc.camel else key
    return spelling, svc.mapping.get(spelling)


def compose_findings(allowed: Allowed, data: Any, *, project_files: bool = False) -> list[Finding]:
    """Every refused value of one Compose file (or, with `project_files`, native Stack)."""
    if not isinstance(data, Mapping):
        return []
    found: list[Finding] = []
    for name, service in _entries(data, "services"):
        found += service_findings(allowed, service, ("services", name), project_files)
    for section, check in (
        ("volumes", volume_findings),
        ("networks", network_findings),
        ("configs", file_source_findings),
        ("secrets", file_source_findings),
    ):
        for name, entry in _entries(data, section):
            found += check(allowed, entry, (section, name))
    found += include_findings(allowed, data.get("include"))
    return found


def _entries(data: Mapping[str, Any], section: str) -> list[tuple[str, Mapping[str, Any]]]:
    entries = data.get(section)
    if not isinstance(entries, Mapping):
        return []
    return [(name, entry) for name, entry in entries.items() if isinstance(entry, Mapping)]


def service_findings(
    allowed: Allowed, service: Mapping[str, Any], at: Path, project_files: bool = False
) -> list[Finding]:
    found: dict[tuple[Path, str], Finding] = {}
    for camel in _spellings(service):
        for where, refusal in _service(allowed, _Spelled(service, camel), project_files):
            path = (*at, *where)
            found.setdefault((path, str(refusal)), Finding(path, refusal))
    return list(found.values())


def _spellings(service: Mapping[str, Any]) -> tuple[bool, ...]:
    """The readings worth walking: a one-word key (`privileged`) is spelled alike in both, so
    a mapping without a capital letter needs only Compose's, one without `_` only syncd's."""
    names = [k for k in service if isinstance(k, str)]
    camel = any(not k.islower() for k in names)
    snake = any("_" in k for k in names)
    if camel and snake:
        return (False, True)
    return (True,) if camel else (False,)


def _service(
    allowed: Allowed, svc: _Spelled, project_files: bool
) -> Iterator[tuple[Path, Refusal]]:
    for walk, keys in _walks(svc.camel, project_files):
        if may_find(keys, svc.mapping):  # most services set few of the keys a walk reads
            yield from walk(allowed, svc, project_files)


def _flags(allowed: Allowed, svc: _Spelled, _: bool) -> Iterator[tuple[Path, Refusal]]:
    key, value = _get(svc, "privileged")
    if value not in (None, False):
        yield from _one((key,), check_flag(allowed, PolicyKey.PRIVILEGED, True, "privileged"))
    key, value = _get(svc, "cap_add")
    for index, cap in indexed(value):
        yield from _one((key, index), check_capabilities(allowed, [str(cap)]))
    key, value = _get(svc, "security_opt")
    for index, option in indexed(value):
        yield from _one((key, index), check_security_opt(allowed, [str(option)]))
    for name in ("post_start", "pre_stop"):
        key, hooks = _get(svc, name)
        for index, hook in indexed(hooks):
            if isinstance(hook, Mapping) and hook.get("privileged") not in (None, False):
                what = f"{name} hook with privileged"
                refusal = check_flag(allowed, PolicyKey.PRIVILEGED, True, what)
                yield from _one((key, index, "privileged"), refusal)
    key, value = _get(svc, "annotations")
    if value:
        what = "annotations (the container runtime reads them, e.g. org.systemd.property.*)"
        yield from _one((key,), check_flag(allowed, PolicyKey.PRIVILEGED, True, what))
    key, value = _get(svc, "provider")
    if value is not None:
        what = "provider: it runs a program on the host"
        yield (key,), allowed.refuse(what, None)


def _one(at: Path, refusal: Refusal | None) -> Iterator[tuple[Path, Refusal]]:
    if refusal is not None:
        yield at, refusal


def _devices(allowed: Allowed, svc: _Spelled, _: bool) -> Iterator[tuple[Path, Refusal]]:
    for name in ("devices", "device_cgroup_rules", "gpus"):
        key, value = _get(svc, name)
        if value:
            yield from _one((key,), check_flag(allowed, PolicyKey.DEVICES, True, name))
    key, deploy = _get(svc, "deploy")
    if isinstance(deploy, Mapping):
        resources = deploy.get("resources")
        reservations = resources.get("reservations") if isinstance(resources, Mapping) else None
        if isinstance(reservations, Mapping) and reservations.get("devices"):
            at = (key, "resources", "reservations", "devices")
            what = "deploy.resources.reservations.devices"
            yield from _one(at, check_flag(allowed, PolicyKey.DEVICES, True, what))
    key, blkio = _get(svc, "blkio_config")
    for name in BLKIO_DEVICE_KEYS if isinstance(blkio, Mapping) else ():
        spelling = to_camel(name) if svc.camel else name
        if blkio.get(spelling):
            what = f"blkio_config.{name} (it names host devices)"
            yield from _one((key, spelling), check_flag(allowed, PolicyKey.DEVICES, True, what))
    key, runtime = _get(svc, "runtime")
    if runtime not in (None, "runc"):
        what = f"runtime {clip(str(runtime))!r} (the container runtime is the operator's choice)"
        yield from _one((key,), check_flag(allowed, PolicyKey.PRIVILEGED, True, what))


def _namespaces(allowed: Allowed, svc: _Spelled, _: bool) -> Iterator[tuple[Path, Refusal]]:
    for name, namespace in NAMESPACE_KEYS.items():
        key, value = _get(svc, name)
        if value is not None:
            yield from _one((key,), check_namespace(allowed, namespace, str(value)))
    key, value = _get(svc, "cgroup_parent")
    if value not in (None, ""):
        what = "cgroup_parent (it places the container in a host cgroup)"
        yield from _one((key,), check_flag(allowed, PolicyKey.HOST_NAMESPACES, True, what))


def _mounts(allowed: Allowed, svc: _Spelled, project_files: bool) -> Iterator[tuple[Path, Refusal]]:
    key, volumes = _get(svc, "volumes")
    for index, volume in indexed(volumes):
        if isinstance(volume, str):
            parts = volume.split(":")
            if project_files and parts[0].startswith("/"):
                continue  # the native kind's project files: `checks` keeps them inside
            if len(parts) > 1:
                yield from _one((key, index), host_file(allowed, parts[0]))
        elif isinstance(volume, Mapping):
            # A bind's source; any other type's named a host path is refused all the same.
            yield from _one((key, index, "source"), host_file(allowed, volume.get("source")))
    key, sources = _get(svc, "volumes_from")
    for index, source in indexed(sources):
        if isinstance(source, str) and source.startswith("container:"):
            what = f"volumes_from {clip(source)!r} (another container's mounts may be any path)"
            yield from _one((key, index), any_path(allowed, what))
    key, value = _get(svc, "volume_driver")
    if value not in (None, "", "local"):
        what = f"volume_driver {clip(str(value))!r} (a volume plugin may mount any host path)"
        yield from _one((key,), check_volume_driver(allowed, str(value), what))
    key, value = _get(svc, "use_api_socket")
    if value not in (None, False):
        yield from _one((key,), check_bind(allowed, DOCKER_SOCKET))
    for name in FILE_KEYS:
        key, value = _get(svc, name)
        entries = value if isinstance(value, list) else [value]
        for index, entry in enumerate(entries):
            path = entry.get("path") if isinstance(entry, Mapping) else entry
            at = (key, index) if isinstance(value, list) else (key,)
            yield from _one(at, host_file(allowed, path))
    key, extends = _get(svc, "extends")
    if isinstance(extends, Mapping):
        yield from _one((key, "file"), host_file(allowed, extends.get("file")))


def _logging(allowed: Allowed, svc: _Spelled, _: bool) -> Iterator[tuple[Path, Refusal]]:
    key, logging = _get(svc, "logging")
    if isinstance(logging, Mapping) and logging.get("driver") is not None:
        yield from _one((key, "driver"), check_logging(allowed, str(logging["driver"])))
    key, driver = _get(svc, "log_driver")
    if driver is not None:
        yield from _one((key,), check_logging(allowed, str(driver)))


def _kernel(allowed: Allowed, svc: _Spelled, _: bool) -> Iterator[tuple[Path, Refusal]]:
    host_network = _get(svc, "network_mode")[1] == "host"
    key, sysctls = _get(svc, "sysctls")
    if isinstance(sysctls, Mapping):
        for name in sysctls:
            refusal = check_sysctl(allowed, str(name), host_network=host_network)
            yield from _one((key, name), refusal)
    for index, entry in indexed(sysctls):
        name = str(entry).split("=", 1)[0].strip()
        yield from _one((key, index), check_sysctl(allowed, name, host_network=host_network))
    key, value = _get(svc, "ulimits")
    yield from (((key, *at), refusal) for at, refusal in ulimit_refusals(allowed, value))
    key, value = _get(svc, "oom_kill_disable")
    if value not in (None, False) and not _memory_limit(svc):
        what = "oom_kill_disable without a memory limit: the host would run out of memory"
        yield (key,), allowed.refuse(what, None)
    key, value = _get(svc, "oom_score_adj")
    if isinstance(value, int) and value < 0:
        what = "a negative oom_score_adj (the host's own processes would be killed first)"
        yield from _one((key,), check_flag(allowed, PolicyKey.PRIVILEGED, True, what))
    key, value = _get(svc, "isolation")
    if value not in (None, "default"):
        yield (
            (key,),
            allowed.refuse(f"isolation {clip(str(value))!r} is for Windows", None),
        )


def _memory_limit(svc: _Spelled) -> bool:
    if _get(svc, "mem_limit")[1] is not None:
        return True
    deploy = _get(svc, "deploy")[1]
    resources = deploy.get("resources") if isinstance(deploy, Mapping) else None
    limits = resources.get("limits") if isinstance(resources, Mapping) else None
    return isinstance(limits, Mapping) and limits.get("memory") is not None


def problems(document: Document, findings: list[Finding]) -> list[Problem]:
    """The findings placed in `document` (for messages that quote no tainted value)."""
    return [
        Problem(document.path, str(f.refusal), pointer(f.path), document.positions.locate(f.path))
        for f in findings
    ]


def _ports(allowed: Allowed, svc: _Spelled, _: bool) -> Iterator[tuple[Path, Refusal]]:
    return port_findings(allowed, svc.mapping, svc.camel)


_Walk = Callable[[Allowed, _Spelled, bool], Iterator[tuple[Path, Refusal]]]
_WALKS: tuple[_Walk, ...] = (_flags, _devices, _namespaces, _mounts, _logging, _kernel, _ports)


@functools.cache
def _walks(camel: bool, project_files: bool) -> tuple[tuple[_Walk, frozenset[str] | None], ...]:
    """Each walk with the keys it reads in this spelling (`keyprobe`): skipped without them."""
    return tuple((w, _keys(w, camel, project_files)) for w in _WALKS)


def _keys(walk: _Walk, camel: bool, project_files: bool) -> frozenset[str] | None:
    probe = BUILTIN.allowed("")

    def check(mapping: Mapping[str, Any]) -> list[Any]:
        return list(walk(probe, _Spelled(mapping, camel), project_files))

    return keys_read(check)
