"""The operator's policy: what a manifest may ask of the host, globally and per project.

Whoever can push manifests must not get root on the host. Host paths, extra capabilities,
privileged mode, host namespaces, devices, security options and non-local logging drivers are
allowed only by the policy file in syncd's own configuration (never by the repo). The built-in
policy (no file) allows none of them.

Resolution is per key: a project's entry replaces the `default` entry for each key it names, and
`default` replaces the built-in value for each key it names (`projects.x.hostPaths` does not
extend `default.hostPaths`; repeat the entries, or use a YAML anchor).

Each `check_*` is a pure decision returning a `Refusal` naming the policy key to change (or
`None`). A refusal's text may quote the value asked for: callers place it at the manifest's
file:line:col and scrub it as they scrub every problem. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool
from pydantic.alias_generators import to_camel

from syncd.policyvalues import (
    _NAMESPACED_SYSCTLS,
    _TRUE,
    ANY_ADDRESS,
    ANY_CAPABILITY,
    ANY_NETWORK,
    ANY_PATH,
    ANY_SECURITY_OPT,
    CAPABILITIES,
    DEFAULT_CAPABILITIES,
    LOCAL_LOGGING_DRIVERS,
    LOOPBACK_ADDRESSES,
    NO_NEW_PRIVILEGES,
    Address,
    Capability,
    HostPath,
    LoggingDriver,
    NetworkName,
    PluginName,
    ProjectName,
    SecurityOpt,
    clip,
    normalize_capability,
    normalize_path,
    normalize_security_opt,
)

__all__ = [
    "ANY_ADDRESS",
    "ANY_CAPABILITY",
    "ANY_NETWORK",
    "ANY_PATH",
    "BUILTIN",
    "CAPABILITIES",
    "LOOPBACK_ADDRESSES",
    "Allowed",
    "Policy",
    "PolicyKey",
    "Refusal",
    "Rules",
    "check_bind",
    "check_capabilities",
    "check_flag",
    "check_logging",
    "check_namespace",
    "check_security_opt",
    "check_sysctl",
    "clip",
    "normalize_capability",
    "normalize_path",
    "path_allowed",
    "security_opt_harmless",
]


class PolicyKey(StrEnum):
    HOST_PATHS = "hostPaths"
    CAPABILITIES = "capabilities"
    PRIVILEGED = "privileged"
    HOST_NAMESPACES = "hostNamespaces"
    DEVICES = "devices"
    SECURITY_OPT = "securityOpt"
    LOGGING_DRIVERS = "loggingDrivers"
    EXTERNAL_NETWORKS = "externalNetworks"
    PUBLISH_ADDRESSES = "publishAddresses"
    EXTERNAL_VOLUMES = "externalVolumes"
    VOLUME_DRIVERS = "volumeDrivers"
    VOLUME_TYPES = "volumeTypes"


_MAX = 1000  # entries of one list: a policy file is written by hand


class Rules(BaseModel):
    """One entry of the policy file; a key left out falls back to the level above."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=False, frozen=True
    )

    host_paths: tuple[HostPath, ...] | None = Field(
        None, max_length=_MAX, description='prefixes allowed as absolute bind sources ("/" = any)'
    )
    capabilities: tuple[Capability, ...] | None = Field(
        None, max_length=_MAX, description='extra capabilities for cap_add ("ALL" = any)'
    )
    privileged: StrictBool | None = None
    host_namespaces: StrictBool | None = Field(
        None, description="network_mode / pid / ipc / uts / userns / cgroup: host, and sharing"
    )
    devices: StrictBool | None = Field(None, description="devices, device_cgroup_rules, gpus")
    security_opt: tuple[SecurityOpt, ...] | None = Field(
        None, max_length=_MAX, description='security_opt beyond no-new-privileges ("*" = any)'
    )
    logging_drivers: tuple[LoggingDriver, ...] | None = Field(
        None, max_length=_MAX, description="logging drivers (default: json-file, local, none)"
    )
    external_networks: tuple[NetworkName, ...] | None = Field(
        None, max_length=_MAX, description='networks made outside syncd to join ("*" = any)'
    )
    publish_addresses: tuple[Address, ...] | None = Field(
        None, max_length=_MAX, description='host addresses beyond loopback for ports ("*" = any)'
    )
    external_volumes: tuple[NetworkName, ...] | None = Field(
        None, max_length=_MAX, description='volumes made outside syncd to mount ("*" = any)'
    )
    volume_drivers: tuple[PluginName, ...] | None = Field(
        None, max_length=_MAX, description='volume drivers beyond local (plugins; "*" = any)'
    )
    volume_types: tuple[PluginName, ...] | None = Field(
        None, max_length=_MAX, description='local driver_opts types beyond tmpfs, e.g. nfs ("*")'
    )


@dataclass(frozen=True)
class Allowed:
    """The resolved policy of one project: every key has its value."""

    project: str
    host_paths: tuple[str, ...] = ()
    capabilities: frozenset[str] = frozenset()
    privileged: bool = False
    host_namespaces: bool = False
    devices: bool = False
    security_opt: frozenset[str] = frozenset()
    logging_drivers: frozenset[str] = frozenset(LOCAL_LOGGING_DRIVERS)
    external_networks: frozenset[str] = frozenset()
    publish_addresses: frozenset[str] = frozenset()
    external_volumes: frozenset[str] = frozenset()
    volume_drivers: frozenset[str] = frozenset()
    volume_types: frozenset[str] = frozenset()
    own: frozenset[PolicyKey] = frozenset()  # the keys the project's own entry sets

    def refuse(self, what: str, key: PolicyKey | None, needs: str = "") -> Refusal:
        return Refusal(self.project, what, key, needs, own=key in self.own)


@dataclass(frozen=True)
class Refusal:
    """A manifest asks for something the policy does not allow. `key` is the policy key that
    would allow it, `needs` what to write there; `key` None: no policy can allow it. `own`:
    the project's entry sets that key, so `default` cannot change it."""

    project: str
    what: str
    key: PolicyKey | None
    needs: str = ""
    own: bool = False

    def __str__(self) -> str:
        if self.key is None:
            return f"{self.what}; no policy can allow this"
        if self.key in _FLAGS:
            change = f"set {self.key}: true"
        else:
            change = f"add {self.needs} to {self.key}"
        where = f"projects.{self.project}.{self.key}"
        if not self.own:
            where += f", or default.{self.key} for every project,"
        policy = f"{change} ({where} in the policy file)"
        return f"{self.what} is not allowed by the operator's policy: {policy}"


_FLAGS = frozenset({PolicyKey.PRIVILEGED, PolicyKey.HOST_NAMESPACES, PolicyKey.DEVICES})
_NO_RULES = Rules()  # a project the policy file does not name (frozen: shared)
_KEYS = {name: PolicyKey(to_camel(name)) for name in Rules.model_fields}  # once, not per read


class Policy(BaseModel):
    """The policy file: `default` rules and per-project rules. `Policy()` is the built-in one."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=False, frozen=True
    )

    default: Rules = Rules()
    projects: dict[ProjectName, Rules] = Field(default_factory=dict, max_length=10_000)

    def allowed(self, project: str) -> Allowed:
        """The rules of `project`: per key, its own entry, else `default`, else built-in."""
        own = self.projects.get(project, _NO_RULES)

        def pick(name: str) -> Any:
            mine = getattr(own, name)
            return mine if mine is not None else getattr(self.default, name)

        def either(value: Any, builtin: Any) -> Any:
            return builtin if value is None else value

        return Allowed(
            project=project,
            host_paths=tuple(either(pick("host_paths"), ())),
            capabilities=frozenset(either(pick("capabilities"), ())),
            privileged=bool(either(pick("privileged"), False)),
            host_namespaces=bool(either(pick("host_namespaces"), False)),
            devices=bool(either(pick("devices"), False)),
            security_opt=frozenset(either(pick("security_opt"), ())),
            logging_drivers=frozenset(either(pick("logging_drivers"), LOCAL_LOGGING_DRIVERS)),
            external_networks=frozenset(either(pick("external_networks"), ())),
            publish_addresses=frozenset(either(pick("publish_addresses"), ())),
            external_volumes=frozenset(either(pick("external_volumes"), ())),
            volume_drivers=frozenset(either(pick("volume_drivers"), ())),
            volume_types=frozenset(either(pick("volume_types"), ())),
            own=frozenset(key for name, key in _KEYS.items() if getattr(own, name) is not None),
        )

    def check_bind(
        self, project: str, host_path: str, *, resolved: str | None = None
    ) -> Refusal | None:
        return check_bind(self.allowed(project), host_path, resolved=resolved)

    def check_capabilities(self, project: str, cap_add: Iterable[str]) -> Refusal | None:
        return check_capabilities(self.allowed(project), cap_add)

    def check_privileged(self, project: str, privileged: bool) -> Refusal | None:
        return check_flag(self.allowed(project), PolicyKey.PRIVILEGED, privileged, "privileged")

    def check_namespace(self, project: str, key: str, value: str) -> Refusal | None:
        return check_namespace(self.allowed(project), key, value)

    def check_security_opt(self, project: str, options: Iterable[str]) -> Refusal | None:
        return check_security_opt(self.allowed(project), options)

    def check_logging(self, project: str, driver: str) -> Refusal | None:
        return check_logging(self.allowed(project), driver)


BUILTIN = Policy()


def path_allowed(prefixes: Iterable[str], path: str) -> bool:
    """Whether canonical `path` is one of `prefixes` or lies under one (`/srv/shared-evil` is
    not under `/srv/shared`)."""
    return any(prefix in (ANY_PATH, path) or path.startswith(prefix + "/") for prefix in prefixes)


def check_bind(allowed: Allowed, host_path: str, *, resolved: str | None = None) -> Refusal | None:
    """An absolute host path mounted (or read) by a service. `resolved`: the same path with its
    symlinks resolved on the host (`os.path.realpath`, at apply time); both must be allowed."""
    for path in (host_path, resolved):
        if path is None:
            continue
        normal = normalize_path(path)
        if normal is None:
            what = f"host path {clip(path, 120)!r} is not absolute or has a '..': write it as /a/b"
            return allowed.refuse(what, None)
        if not path_allowed(allowed.host_paths, normal):
            return allowed.refuse(f"host path {normal!r}", PolicyKey.HOST_PATHS, repr(normal))
    return None


def check_capabilities(allowed: Allowed, cap_add: Iterable[str]) -> Refusal | None:
    for raw in cap_add:
        name = normalize_capability(raw)
        if name != ANY_CAPABILITY and name not in CAPABILITIES:
            what = f"cap_add {clip(raw)!r} is not a Linux capability (e.g. NET_ADMIN)"
            return allowed.refuse(what, None)
        if name in DEFAULT_CAPABILITIES or ANY_CAPABILITY in allowed.capabilities:
            continue
        if name not in allowed.capabilities:
            return allowed.refuse(f"cap_add {name}", PolicyKey.CAPABILITIES, name)
    return None


def check_flag(allowed: Allowed, key: PolicyKey, asked: bool, what: str) -> Refusal | None:
    """A yes/no key (`privileged`, `hostNamespaces`, `devices`) asked for by `what`."""
    if not asked:
        return None
    value = {
        PolicyKey.PRIVILEGED: allowed.privileged,
        PolicyKey.HOST_NAMESPACES: allowed.host_namespaces,
        PolicyKey.DEVICES: allowed.devices,
    }.get(key, False)
    return None if value else allowed.refuse(what, key, "true")


# Per Compose key: the values that keep the container in its own namespace (anything else —
# `host`, `service:x`, `container:x`, another network's name — shares one with something else).
PRIVATE_NAMESPACES: dict[str, frozenset[str]] = {
    "network_mode": frozenset({"", "none", "bridge", "default"}),
    "pid": frozenset({""}),
    "ipc": frozenset({"", "none", "private", "shareable"}),
    "uts": frozenset({""}),
    "userns_mode": frozenset({""}),
    "cgroup": frozenset({"", "private"}),
}


def check_namespace(allowed: Allowed, key: str, value: str) -> Refusal | None:
    """`network_mode`, `pid`, `ipc`, `uts`, `userns_mode` or `cgroup` set to `value` (case as
    Docker reads it: exact; `HOST` or `NONE` would name a network, and are refused)."""
    private = PRIVATE_NAMESPACES.get(key)
    if private is None:
        raise ValueError(f"{key!r} is not a namespace key")
    if value in private:
        return None
    return check_flag(allowed, PolicyKey.HOST_NAMESPACES, True, f"{key}: {clip(value)!r}")


def security_opt_harmless(option: str) -> bool:
    """`no-new-privileges`, alone or true (as Go's ParseBool reads it): it only takes away."""
    normal = normalize_security_opt(option)
    key, _, value = normal.partition("=")
    return key == NO_NEW_PRIVILEGES and (normal == key or value in _TRUE)


def check_security_opt(allowed: Allowed, options: Iterable[str]) -> Refusal | None:
    for option in options:
        if security_opt_harmless(option):
            continue
        normal = normalize_security_opt(option)
        if ANY_SECURITY_OPT in allowed.security_opt or normal in allowed.security_opt:
            continue
        what = f"security_opt {clip(normal, 120)!r}"
        return allowed.refuse(what, PolicyKey.SECURITY_OPT, repr(normal))
    return None


def check_logging(allowed: Allowed, driver: str) -> Refusal | None:
    if driver in allowed.logging_drivers:
        return None
    return allowed.refuse(
        f"logging driver {clip(driver)!r}",
        PolicyKey.LOGGING_DRIVERS,
        repr(clip(driver)),
    )


def check_sysctl(allowed: Allowed, name: str, *, host_network: bool) -> Refusal | None:
    """Docker sets only namespaced sysctls, and no `net.*` one with the host's network: the rest
    would change the host's kernel. No policy key allows them."""
    if not _NAMESPACED_SYSCTLS.fullmatch(name):
        what = f"sysctl {clip(name)!r} is not namespaced: it would change the host's kernel"
        return allowed.refuse(what, None)
    if host_network and name.startswith("net."):
        what = f"sysctl {clip(name)!r} with network_mode host would change the host's network"
        return allowed.refuse(what, None)
    return None
