"""The canonical form of a service's security options (see `manifests.options.security`).

`DEFAULTS` holds each field's value when the manifest omits it (Docker's own default, made
explicit); `fields` the canonical values of the fields the manifest sets.
Capabilities are upper case without `CAP_`, sorted; security options `key=value`; devices
`source:target:permissions`; byte sizes and CPU times integers (bytes, microseconds); a PID
limit of 0 or -1 is "unlimited", the default. Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from syncd.core.options import devicerequests
from syncd.manifests.model import Service
from syncd.manifests.options import securityvalues as v
from syncd.manifests.options.security import BlkioConfig, Ulimit

# Canonical key (the manifest's camelCase name) -> value when omitted. Empty text for the
# namespaces, runtime and cgroup parent: the daemon's own choice.
DEFAULTS: dict[str, Any] = {
    "capAdd": [],
    "capDrop": [],
    "securityOpt": [],
    "seccompProfile": None,  # `seccomp=<file>`: {source, digest} (`core.options.seccomp`)
    "privileged": False,
    "devices": [],
    "deviceCgroupRules": [],
    "deviceRequests": [],  # `gpus` and `deploy.resources.reservations.devices`
    "pid": "",
    "ipc": "",
    "pidPeer": None,  # `pid: service:x`: a digest of x's spec (`core.options.network.peers`)
    "ipcPeer": None,  # `ipc: service:x`: the same
    "uts": "",
    "usernsMode": "",
    "cgroup": "",
    "cgroupParent": "",
    "runtime": "",
    "readOnly": False,
    "tmpfs": [],
    "shmSize": None,
    "ulimits": {},
    "pidsLimit": None,
    "sysctls": {},
    "logging": None,
    "memReservation": None,
    "memswapLimit": None,
    "memSwappiness": None,
    "cpuShares": None,
    "cpuset": "",
    "cpuQuota": None,
    "cpuPeriod": None,
    "cpuRtRuntime": None,
    "cpuRtPeriod": None,
    "oomScoreAdj": 0,
    "oomKillDisable": False,
    "storageOpt": {},
    "blkioConfig": None,
}
# Fields of this group whose change needs no new container (syncd only records them).
METADATA: frozenset[str] = frozenset()

_PLAIN = {
    "privileged": "privileged",
    "pid": "pid",
    "ipc": "ipc",
    "uts": "uts",
    "userns_mode": "usernsMode",
    "cgroup": "cgroup",
    "cgroup_parent": "cgroupParent",
    "runtime": "runtime",
    "read_only": "readOnly",
    "mem_swappiness": "memSwappiness",
    "cpu_shares": "cpuShares",
    "cpuset": "cpuset",
    "oom_score_adj": "oomScoreAdj",
    "oom_kill_disable": "oomKillDisable",
}
_BYTES = {"shm_size": "shmSize", "mem_reservation": "memReservation"}
_MICROS = {
    "cpu_quota": "cpuQuota",
    "cpu_period": "cpuPeriod",
    "cpu_rt_runtime": "cpuRtRuntime",
    "cpu_rt_period": "cpuRtPeriod",
}


def _ulimit(value: int | Ulimit) -> dict[str, int]:
    if isinstance(value, Ulimit):
        return {"soft": value.soft, "hard": value.hard}
    return {"soft": value, "hard": value}


def _tmpfs(value: list[str] | str) -> list[dict[str, str]]:
    # Two of one target stay two (Docker's map keeps the last; two the file writes are refused,
    # `mountchecks`): folding one from a variable into one the file writes would tell a pull
    # request that its guess equals the value.
    entries = sorted(v.tmpfs(t) for t in ([value] if isinstance(value, str) else value))
    return [{"target": target, "options": options} for target, options in entries]


def _blkio(config: BlkioConfig) -> dict[str, Any]:
    def rates(entries: list[Any] | None, convert: Any) -> list[dict[str, Any]]:
        return sorted(
            ({"path": e.path, "rate": convert(e.rate)} for e in entries or []),
            key=lambda e: str(e["path"]),
        )

    return {
        "weight": config.weight,
        "weightDevice": sorted(
            ({"path": e.path, "weight": e.weight} for e in config.weight_device or []),
            key=lambda e: str(e["path"]),
        ),
        "deviceReadBps": rates(config.device_read_bps, v.byte_count),
        "deviceWriteBps": rates(config.device_write_bps, v.byte_count),
        "deviceReadIops": rates(config.device_read_iops, int),
        "deviceWriteIops": rates(config.device_write_iops, int),
    }


def fields(service: Service, given: set[str]) -> dict[str, Any]:
    """`given`: the model field names the manifest sets (`service.model_fields_set`)."""
    out: dict[str, Any] = {}
    for name, key in _PLAIN.items():
        if name in given:
            value = getattr(service, name)
            out[key] = DEFAULTS[key] if value is None else value
    for name, key in _BYTES.items():
        if name in given:
            value = getattr(service, name)
            out[key] = None if value is None else v.byte_count(value)
    for name, key in _MICROS.items():
        if name in given:
            value = getattr(service, name)
            out[key] = None if value is None else v.micros(value)
    if "cap_add" in given:
        out["capAdd"] = v.capabilities(service.cap_add or [])
    if "cap_drop" in given:
        out["capDrop"] = v.capabilities(service.cap_drop or [])
    if "security_opt" in given:
        out["securityOpt"] = v.security_opts(service.security_opt or [])
    if "devices" in given:
        devices = [
            v.device(d if isinstance(d, str) else d.model_dump()) for d in service.devices or []
        ]
        out["devices"] = sorted(devices)  # duplicates stay: see `network.endpoint`
    out.update(devicerequests.fields(service))
    if "device_cgroup_rules" in given:
        out["deviceCgroupRules"] = sorted(service.device_cgroup_rules or [])
    if "tmpfs" in given:
        out["tmpfs"] = _tmpfs(service.tmpfs or [])
    if "ulimits" in given:
        out["ulimits"] = {k: _ulimit(u) for k, u in sorted((service.ulimits or {}).items())}
    if "pids_limit" in given:
        limit = service.pids_limit
        out["pidsLimit"] = limit if limit is not None and limit > 0 else None
    if "sysctls" in given:
        out["sysctls"] = {k: v.scalar_text(x) for k, x in sorted((service.sysctls or {}).items())}
    if "logging" in given:
        log = service.logging
        out["logging"] = (
            {"driver": log.driver, "options": dict(sorted((log.options or {}).items()))}
            if log is not None
            else None
        )
    resources = service.deploy.resources if service.deploy else None
    if resources is not None and resources.limits and resources.limits.pids is not None:
        pids = resources.limits.pids  # the same limit as pidsLimit (the model checks they agree)
        out["pidsLimit"] = pids if pids > 0 else None
    reserved = resources.reservations.memory if resources and resources.reservations else None
    if reserved is not None:
        out["memReservation"] = v.memory_bytes(reserved)
    if "memswap_limit" in given:
        swap = service.memswap_limit
        out["memswapLimit"] = None if swap is None else v.swap_bytes(swap)
    if "storage_opt" in given:
        out["storageOpt"] = dict(sorted((service.storage_opt or {}).items()))
    if "blkio_config" in given:
        out["blkioConfig"] = _blkio(service.blkio_config) if service.blkio_config else None
    return out
