"""Service fields for isolation and resources: capabilities, security options, privileged,
devices, host namespaces, read-only root, tmpfs, shm, ulimits, pids, sysctls, logging, legacy
CPU and memory keys.

Named as the Compose Specification names them, in camelCase (`cap_add` -> `capAdd`), with
Compose's meaning. Each value is checked here as the Docker engine would check it, so a bad one
is a located manifest error, not an engine error at apply time. What needs the operator's policy
(privileged, capabilities, devices, host namespaces, ...) is decided by `policyguard`, which
reads these same camelCase names. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)
from pydantic_core import PydanticCustomError

from syncd.manifests.fields import DockerText
from syncd.manifests.options import securityvalues as v
from syncd.manifests.options.devicerequests import Gpus
from syncd.manifests.options.network import MEMBER
from syncd.manifests.strict import StrictModel

_MAX_ITEMS = 256  # entries of one list or map: far above any real service

Capability = Annotated[StrictStr, AfterValidator(v.check_capability)]
SecurityOption = Annotated[StrictStr, AfterValidator(v.check_security_opt)]
DevicePath = Annotated[StrictStr, AfterValidator(v.check_device_path)]
DeviceString = Annotated[StrictStr, AfterValidator(v.check_device)]
CgroupRule = Annotated[StrictStr, AfterValidator(v.check_cgroup_rule)]
TmpfsString = Annotated[StrictStr, AfterValidator(v.check_tmpfs)]
Bytes = Annotated[StrictInt | StrictStr, AfterValidator(v.check_bytes)]
SwapBytes = Annotated[StrictInt | StrictStr, AfterValidator(v.check_swap_bytes)]
Micros = Annotated[StrictInt | StrictStr, AfterValidator(v.check_micros)]
SysctlName = Annotated[StrictStr, AfterValidator(v.check_sysctl)]
SysctlValue = Annotated[StrictStr | StrictInt | float, AfterValidator(v.check_scalar)]
UlimitName = Annotated[StrictStr, AfterValidator(v.check_ulimit_name)]
OptionName = Annotated[StrictStr, Field(min_length=1, max_length=255), AfterValidator(v.check_key)]
OptionValue = Annotated[StrictStr, Field(max_length=4096), AfterValidator(v.check_scalar)]
Name = Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,254}$")]


def _namespace(key: str, *modes: str) -> Callable[[str], str]:
    """`pid` / `ipc`: one of Docker's own modes, or `service:<x>`, the namespace of another
    service of the stack (its first replica's container at apply time)."""

    def check(value: str) -> str:
        if value in modes:
            return value
        if value.startswith("service:") and MEMBER.fullmatch(value.removeprefix("service:")):
            return value
        if value.startswith("container:"):
            raise PydanticCustomError(
                key, f"{key} container: joins a container syncd did not create; refused"
            )
        raise PydanticCustomError(
            key, f"{value[:40]!r} is not one of {', '.join(modes)} or service:<service>"
        )

    return check


PidMode = Annotated[StrictStr, AfterValidator(_namespace("pid", "host"))]
IpcMode = Annotated[
    StrictStr, AfterValidator(_namespace("ipc", "host", "private", "shareable", "none"))
]


# (two items of one target: `mountchecks`, which never compares a value from a variable)
TmpfsList = Annotated[list[TmpfsString], Field(max_length=_MAX_ITEMS)]


class Device(StrictModel):
    """The long form of a device: `{source, target, permissions}`."""

    source: DevicePath
    target: DevicePath | None = None
    permissions: Annotated[StrictStr, Field(pattern=r"^[rwm]{1,3}$")] = "rwm"


class Ulimit(StrictModel):
    soft: Annotated[StrictInt, Field(ge=-1)]
    hard: Annotated[StrictInt, Field(ge=-1)]

    @model_validator(mode="after")
    def _order(self) -> Ulimit:
        if v.rlimit(self.soft) > v.rlimit(self.hard):
            raise PydanticCustomError("ulimit", "the soft limit is above the hard limit")
        return self


class Logging(StrictModel):
    """`driver` None: the daemon's default driver (with these options)."""

    driver: Name | None = None
    options: Annotated[dict[OptionName, OptionValue], Field(max_length=_MAX_ITEMS)] | None = None

    @model_validator(mode="after")
    def _options_of_the_driver(self) -> Logging:
        problem = v.logging_problem(self.driver, self.options or {})
        if problem is not None:
            raise PydanticCustomError("logging", problem)
        return self


class WeightDevice(StrictModel):
    path: DevicePath
    weight: Annotated[StrictInt, Field(ge=10, le=1000)]


class ByteRate(StrictModel):
    path: DevicePath
    rate: Bytes


class IoRate(StrictModel):
    path: DevicePath
    rate: Annotated[StrictInt, Field(ge=0)]


class BlkioConfig(StrictModel):
    weight: Annotated[StrictInt, Field(ge=10, le=1000)] | None = None
    weight_device: Annotated[list[WeightDevice], Field(max_length=_MAX_ITEMS)] | None = None
    device_read_bps: Annotated[list[ByteRate], Field(max_length=_MAX_ITEMS)] | None = None
    device_write_bps: Annotated[list[ByteRate], Field(max_length=_MAX_ITEMS)] | None = None
    device_read_iops: Annotated[list[IoRate], Field(max_length=_MAX_ITEMS)] | None = None
    device_write_iops: Annotated[list[IoRate], Field(max_length=_MAX_ITEMS)] | None = None


class SecurityFields(StrictModel):
    """Mixed into `model.Service`."""

    cap_add: Annotated[list[Capability], Field(max_length=_MAX_ITEMS)] | None = Field(
        None, description="extra capabilities (policy: capabilities), e.g. NET_ADMIN"
    )
    cap_drop: Annotated[list[Capability], Field(max_length=_MAX_ITEMS)] | None = Field(
        None, description="dropped capabilities, e.g. ALL"
    )
    security_opt: Annotated[list[SecurityOption], Field(max_length=_MAX_ITEMS)] | None = Field(
        None, description="no-new-privileges, label=, apparmor=, seccomp=unconfined (policy)"
    )
    privileged: StrictBool | None = Field(None, description="policy: privileged")
    devices: Annotated[list[DeviceString | Device], Field(max_length=_MAX_ITEMS)] | None = Field(
        None, description="'/dev/x[:/dev/y[:rwm]]' or {source, target, permissions} (policy)"
    )
    device_cgroup_rules: Annotated[list[CgroupRule], Field(max_length=_MAX_ITEMS)] | None = Field(
        None, description="e.g. 'c 1:3 mr' (policy: devices)"
    )
    gpus: Gpus | None = Field(
        None, description="all, or [{driver, count, deviceIds, capabilities}] (policy: devices)"
    )
    pid: PidMode | None = Field(
        None, description="host | service:<service of this stack> (policy: hostNamespaces)"
    )
    ipc: IpcMode | None = Field(
        None,
        description="private | shareable | none | host | service:<service of this stack> "
        "(policy: hostNamespaces for host and service:)",
    )
    uts: Literal["host"] | None = Field(None, description="host (policy: hostNamespaces)")
    userns_mode: Literal["host"] | None = Field(None, description="policy: hostNamespaces")
    cgroup: Literal["host", "private"] | None = None
    cgroup_parent: Annotated[DockerText, Field(min_length=1, max_length=255)] | None = None
    runtime: Name | None = Field(None, description="OCI runtime other than runc (policy)")
    read_only: StrictBool | None = Field(None, description="a read-only root file system")
    tmpfs: TmpfsList | TmpfsString | None = Field(
        None, description="'/run' or '/run:size=64m,mode=1777', or a list of them"
    )
    shm_size: Bytes | None = Field(None, description="size of /dev/shm: bytes or '64m'")
    ulimits: Annotated[dict[UlimitName, StrictInt | Ulimit], Field(max_length=64)] | None = Field(
        None, description="name: N or name: {soft, hard}"
    )
    pids_limit: Annotated[StrictInt, Field(ge=-1)] | None = Field(
        None, description="-1 or 0: unlimited"
    )
    sysctls: Annotated[dict[SysctlName, SysctlValue], Field(max_length=_MAX_ITEMS)] | None = Field(
        None, description="namespaced kernel parameters (net.*, kernel.shm*, ...)"
    )
    logging: Logging | None = Field(None, description="{driver, options} (policy: loggingDrivers)")
    mem_reservation: Bytes | None = None
    memswap_limit: SwapBytes | None = Field(None, description="memory + swap; -1: unlimited")
    mem_swappiness: Annotated[StrictInt, Field(ge=0, le=100)] | None = None
    cpu_shares: Annotated[StrictInt, Field(ge=0, le=262144)] | None = None
    cpuset: Annotated[StrictStr, Field(pattern=v.CPUSET)] | None = Field(
        None, description="CPUs to run on, e.g. '0-2,4'"
    )
    cpu_quota: Micros | None = Field(None, description="microseconds per period, or -1")
    cpu_period: Micros | None = Field(None, description="microseconds")
    cpu_rt_runtime: Micros | None = None
    cpu_rt_period: Micros | None = None
    oom_score_adj: Annotated[StrictInt, Field(ge=-1000, le=1000)] | None = None
    oom_kill_disable: StrictBool | None = None
    storage_opt: Annotated[dict[OptionName, OptionValue], Field(max_length=64)] | None = None
    blkio_config: BlkioConfig | None = None

    @model_validator(mode="after")
    def _resources_fit(self) -> SecurityFields:
        """Mixed into `Service`, whose `deploy.resources.limits` hold `cpus` and `memory`."""
        deploy = getattr(self, "deploy", None)
        resources = getattr(deploy, "resources", None)
        limits = getattr(resources, "limits", None)
        memory = getattr(limits, "memory", None)
        cpus = getattr(limits, "cpus", None) is not None
        values = self.resource_values()
        problems = v.resource_problems(
            v.memory_bytes(memory) if memory is not None else None, cpus, values
        )
        pids = getattr(limits, "pids", None)
        if (
            pids is not None
            and self.pids_limit is not None
            and max(pids, 0) != max(self.pids_limit, 0)
        ):
            problems.append(("pids_limit", "pidsLimit and deploy.resources.limits.pids differ"))
        reserved = getattr(getattr(resources, "reservations", None), "memory", None)
        if reserved is not None and values["memReservation"] not in (
            None,
            v.memory_bytes(reserved),
        ):
            problems.append(
                (
                    "mem_reservation",
                    "memReservation and deploy.resources.reservations.memory differ",
                )
            )
        if problems:
            raise PydanticCustomError("resources", problems[0][1])
        return self

    def resource_values(self) -> dict[str, int | None]:
        def given(value: int | str | None, convert: Callable[[Any], int]) -> int | None:
            return None if value is None else convert(value)

        return {
            "memReservation": given(self.mem_reservation, v.byte_count),
            "memswapLimit": given(self.memswap_limit, v.swap_bytes),
            "cpuQuota": given(self.cpu_quota, v.micros),
            "cpuPeriod": given(self.cpu_period, v.micros),
        }
