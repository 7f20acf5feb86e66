"""Every key of the Compose Specification's service definition, and what syncd does with it today.

- `CARRIED`: read into syncd's `Stack` model (by `services`);
- `LATER`: honoured in Compose's meaning once the model carries it (a "not carried yet" note,
  with the operator policy key that will guard it, where one does);
- `NEVER`: a key syncd will not honour: an error naming the key, with advice;
- `IGNORED`: valid and without effect for syncd (client-side keys), or read elsewhere
  (`profiles`; `extends`, merged before by `compose.extends`).
Unknown keys are errors with a "did you mean". Pure: no I/O.
"""

from __future__ import annotations

_BASE = frozenset(
    {
        "image", "command", "entrypoint", "environment", "env_file", "ports", "expose",
        "volumes", "depends_on", "restart", "healthcheck", "deploy", "mem_limit", "cpus",
        "scale", "networks", "container_name",
    }
)  # fmt: skip
# Carried by the option groups (`manifests.options`), one set per group.
PROCESS: frozenset[str] = frozenset(
    {
        "user", "working_dir", "hostname", "domainname", "labels", "init", "tty", "stdin_open",
        "stop_signal", "stop_grace_period", "extra_hosts", "dns", "dns_search", "dns_opt",
        "group_add", "platform", "pull_policy", "mac_address", "annotations", "label_file",
    }
)  # fmt: skip

# In the order `compose.security` reads them.
SECURITY_KEYS = (
        "cap_add", "cap_drop", "security_opt", "privileged", "devices", "device_cgroup_rules",
        "pid", "ipc", "uts", "userns_mode", "cgroup", "cgroup_parent", "runtime", "read_only",
        "tmpfs", "shm_size", "ulimits", "pids_limit", "sysctls", "logging", "mem_reservation",
        "memswap_limit", "mem_swappiness", "cpu_shares", "cpuset", "cpu_quota", "cpu_period",
        "cpu_rt_runtime", "cpu_rt_period", "oom_score_adj", "oom_kill_disable", "storage_opt",
        "blkio_config",
)  # fmt: skip
SECURITY = frozenset(SECURITY_KEYS) | {"gpus"}  # gpus: `compose.devicerequests`

NETWORK: frozenset[str] = frozenset({"network_mode", "links"})

FILES: frozenset[str] = frozenset({"configs", "secrets"})

LIFECYCLE: frozenset[str] = frozenset()

CARRIED = _BASE | PROCESS | SECURITY | NETWORK | FILES | LIFECYCLE

IGNORED = frozenset({"attach", "develop", "profiles", "extends"})

BUILD_ADVICE = (
    "syncd deploys images and never builds them: build the image in CI, push it to a registry, "
    "and name it with 'image:'"
)

NEVER: dict[str, str] = {
    "build": BUILD_ADVICE,
    "external_links": "links to containers outside the project: syncd never touches containers "
    "it did not create; put the service in this file and use its name",
    "credential_spec": "a Windows-only key",
    "cpu_count": "a Windows-only key; use cpus",
    "cpu_percent": "a Windows-only key; use cpus",
    "provider": "an external provider service has no container for syncd to run",
    "models": "Docker Model Runner models are not containers syncd runs",
    "post_start": "lifecycle hooks are not supported yet; run the step in the entrypoint",
    "pre_stop": "lifecycle hooks are not supported yet; use stop_signal / stop_grace_period",
    "use_api_socket": "it hands the Docker socket and the client's credentials to the "
    "container; bind /var/run/docker.sock explicitly (policy: hostPaths) if you must",
}

# key -> what it asks (and the policy key that will guard it)
_NOT_YET: dict[str, str] = {
    "annotations": "OCI annotations (Engine API 1.43)",
    "blkio_config": "block IO limits (policy: devices)",
    "cap_add": "added capabilities (policy: capabilities)",
    "cap_drop": "dropped capabilities",
    "cgroup": "the cgroup namespace (policy: hostNamespaces for host)",
    "cgroup_parent": "a parent cgroup (policy: hostNamespaces)",
    "configs": "config files mounted into the container",
    "cpu_shares": "a CPU weight",
    "cpu_quota": "a CPU quota",
    "cpu_period": "a CPU period",
    "cpu_rt_period": "a realtime CPU period",
    "cpu_rt_runtime": "a realtime CPU runtime",
    "cpuset": "pinned CPUs",
    "device_cgroup_rules": "device cgroup rules (policy: devices)",
    "devices": "host devices (policy: devices)",
    "dns": "DNS servers",
    "dns_opt": "resolver options",
    "dns_search": "DNS search domains",
    "domainname": "the NIS domain name",
    "extra_hosts": "/etc/hosts entries",
    "gpus": "GPU requests (policy: devices)",
    "group_add": "supplementary groups",
    "hostname": "the container's host name",
    "init": "an init process as PID 1",
    "ipc": "the IPC namespace (policy: hostNamespaces for host/service:/container:)",
    "isolation": "Windows isolation (only 'default' on Linux)",
    "label_file": "labels from files",
    "labels": "container labels",
    "links": "aliases of other services (and an implicit depends_on)",
    "logging": "the log driver (policy: loggingDrivers)",
    "mac_address": "a MAC address",
    "mem_reservation": "a memory reservation",
    "mem_swappiness": "memory swappiness",
    "memswap_limit": "a memory+swap limit",
    "network_mode": "the network namespace (policy: hostNamespaces for host/service:)",
    "oom_kill_disable": "disabling the OOM killer",
    "oom_score_adj": "the OOM score",
    "pid": "the PID namespace (policy: hostNamespaces)",
    "pids_limit": "a PID limit",
    "platform": "the image platform",
    "privileged": "a privileged container (policy: privileged)",
    "pull_policy": "when to pull the image",
    "pull_refresh_after": "the pull refresh interval",
    "read_only": "a read-only root file system",
    "runtime": "an OCI runtime (policy: privileged)",
    "secrets": "secret files mounted into the container",
    "security_opt": "security options (policy: securityOpt)",
    "shm_size": "the size of /dev/shm",
    "stdin_open": "an open stdin",
    "stop_grace_period": "the time before SIGKILL",
    "stop_signal": "the stop signal",
    "storage_opt": "storage driver options",
    "sysctls": "namespaced kernel parameters",
    "tmpfs": "tmpfs mounts",
    "tty": "a TTY",
    "ulimits": "resource limits (rlimits)",
    "user": "the user the process runs as",
    "userns_mode": "the user namespace (policy: hostNamespaces)",
    "uts": "the UTS namespace (policy: hostNamespaces)",
    "volumes_from": "mounts shared from another service",
    "working_dir": "the working directory",
}

LATER = {key: what for key, what in _NOT_YET.items() if key not in CARRIED}

ALL = CARRIED | IGNORED | frozenset(NEVER) | frozenset(LATER)

# Top-level keys of a Compose file.
TOP_LEVEL = (
    "version",
    "name",
    "services",
    "networks",
    "volumes",
    "configs",
    "secrets",
    "include",
    "models",
)

NETWORK_KEYS = frozenset(
    {
        "name", "driver", "driver_opts", "ipam", "external", "internal", "enable_ipv4",
        "enable_ipv6", "attachable", "labels",
    }
)  # fmt: skip
VOLUME_KEYS = frozenset({"name", "driver", "driver_opts", "external", "labels"})
CONFIG_KEYS = frozenset(
    {"file", "content", "environment", "external", "name", "labels", "template_driver"}
)
SECRET_KEYS = CONFIG_KEYS - {"content"} | {"driver", "driver_opts"}
MEMBER_KEYS = {
    "networks": NETWORK_KEYS,
    "volumes": VOLUME_KEYS,
    "configs": CONFIG_KEYS,
    "secrets": SECRET_KEYS,
}
