"""The security options of a `ContainerRequest` as docker-py arguments.

`options` holds canonical values keyed by syncd's field names (`core.options.security`), every
field present (defaults included). `container_kwargs` feeds `APIClient.create_container`,
`host_kwargs` `APIClient.create_host_config`. A field at its default is not sent, so the
daemon's own default applies (as for a container created before syncd knew the field).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncd.engine.base import Names
from syncd.ids import ServiceKey

# canonical key -> docker-py `create_host_config` argument, for values passed as they are
_AS_IS = {
    "capAdd": "cap_add",
    "capDrop": "cap_drop",
    "securityOpt": "security_opt",
    "privileged": "privileged",
    "devices": "devices",
    "deviceCgroupRules": "device_cgroup_rules",
    "uts": "uts_mode",
    "usernsMode": "userns_mode",
    "cgroup": "cgroupns",
    "cgroupParent": "cgroup_parent",
    "runtime": "runtime",
    "readOnly": "read_only",
    "shmSize": "shm_size",
    "pidsLimit": "pids_limit",
    "sysctls": "sysctls",
    "memReservation": "mem_reservation",
    "memswapLimit": "memswap_limit",
    "memSwappiness": "mem_swappiness",
    "cpuShares": "cpu_shares",
    "cpuset": "cpuset_cpus",
    "cpuQuota": "cpu_quota",
    "cpuPeriod": "cpu_period",
    "cpuRtRuntime": "cpu_rt_runtime",
    "cpuRtPeriod": "cpu_rt_period",
    "oomScoreAdj": "oom_score_adj",
    "oomKillDisable": "oom_kill_disable",
    "storageOpt": "storage_opt",
}


def _given(key: str, value: Any) -> bool:
    """Whether `value` differs from Docker's default (`memSwappiness: 0` does: no swapping)."""
    if value is None or value is False or value in ("", [], {}):
        return False
    return not (key == "oomScoreAdj" and value == 0)


_SHARED = {"pid": "pid_mode", "ipc": "ipc_mode"}


def shared_modes(names: Names, service: ServiceKey, options: Mapping[str, Any]) -> dict[str, Any]:
    """`pid` / `ipc` `service:x` as docker-py arguments: the namespace of x's container in the
    same stack (its first replica), as `dockeropts.network.network_mode` does for networks."""
    out = {}
    for key, arg in _SHARED.items():
        value = str(options.get(key) or "")
        if value.startswith("service:"):
            target = ServiceKey(service.project, service.stack, value.removeprefix("service:"))
            out[arg] = f"container:{names.container(target)}"
    return out


def container_kwargs(options: Mapping[str, Any]) -> dict[str, Any]:
    return {}


def _blkio(config: Mapping[str, Any]) -> dict[str, Any]:
    def rates(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"Path": e["path"], "Rate": e["rate"]} for e in entries]

    out: dict[str, Any] = {
        "blkio_weight_device": [
            {"Path": e["path"], "Weight": e["weight"]} for e in config["weightDevice"]
        ],
        "device_read_bps": rates(config["deviceReadBps"]),
        "device_write_bps": rates(config["deviceWriteBps"]),
        "device_read_iops": rates(config["deviceReadIops"]),
        "device_write_iops": rates(config["deviceWriteIops"]),
    }
    if config.get("weight") is not None:
        out["blkio_weight"] = config["weight"]
    return {k: x for k, x in out.items() if x}


def host_kwargs(options: Mapping[str, Any]) -> dict[str, Any]:
    out = {arg: options[key] for key, arg in _AS_IS.items() if _given(key, options.get(key))}
    for key, arg in _SHARED.items():
        if _given(key, options.get(key)) and not str(options[key]).startswith("service:"):
            out[arg] = options[key]  # `service:x`: see `shared_modes`
    tmpfs = options.get("tmpfs") or []
    if tmpfs:
        out["tmpfs"] = {entry["target"]: entry["options"] for entry in tmpfs}
    ulimits = options.get("ulimits") or {}
    if ulimits:
        out["ulimits"] = [{"name": name, **limits} for name, limits in ulimits.items()]
    logging = options.get("logging")
    if logging is not None:
        out["log_config"] = {
            "type": logging.get("driver") or "",
            "config": dict(logging.get("options") or {}),
        }
    requests = options.get("deviceRequests") or []
    if requests:
        out["device_requests"] = [
            {
                "driver": r["driver"],
                "count": r["count"],
                "device_ids": list(r["deviceIds"]),
                "capabilities": [list(c) for c in r["capabilities"]],
                "options": dict(r["options"]),
            }
            for r in requests
        ]
    blkio = options.get("blkioConfig")
    if blkio:
        out.update(_blkio(blkio))
    return out
