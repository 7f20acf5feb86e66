"""One Compose service as the data of syncd's `Service` model (camelCase, as a native `Stack`
document writes it), with the places that took values from the environment.

Every key is looked up in `keys`: carried keys are read here (by the modules of their concern),
keys the model cannot carry yet are noted, keys syncd will never honour and unknown keys are
errors naming the key. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from syncd.manifests.compose import keys
from syncd.manifests.compose.configs import read_file_refs
from syncd.manifests.compose.context import Context, Revision, clip, is_extension, kind_of
from syncd.manifests.compose.deploy import read_deploy, read_restart_policy
from syncd.manifests.compose.devicerequests import read_gpus
from syncd.manifests.compose.environment import read_environment
from syncd.manifests.compose.lifecycle import (
    depends_origin,
    read_depends_on,
    read_healthcheck,
    read_restart,
)
from syncd.manifests.compose.networking import read_networking
from syncd.manifests.compose.ports import native_ports, port_modes, read_expose, read_ports
from syncd.manifests.compose.process import read_process
from syncd.manifests.compose.schedule import read_schedule
from syncd.manifests.compose.security import read_security
from syncd.manifests.compose.sharing import read_shared
from syncd.manifests.compose.shell import command_words
from syncd.manifests.compose.swarm import swarm_origins
from syncd.manifests.compose.volumes import read_volumes
from syncd.manifests.fields import check_no_nul
from syncd.manifests.model import Service
from syncd.manifests.parse import suggest
from syncd.manifests.yamlsafe import Path

_MODEL_FIELDS = frozenset(info.alias or name for name, info in Service.model_fields.items())


@dataclass(frozen=True)
class Scope:
    """What a service is read against: the interpolation sources (for bare environment names),
    the folder of the Compose file in the repository and the revision's files, the top-level
    volumes, every service of the file and those deployed (in the active profiles)."""

    lookup: Mapping[str, str]
    secret_names: Collection[str]  # the operator's variables (and .env keys that read one)
    revision: Revision
    volumes: Mapping[str, Any]
    networks: Mapping[str, Any]  # the top-level networks, by key
    services: Collection[str]
    deployed: Collection[str]
    file_sources: Mapping[str, Collection[str]] = field(default_factory=dict)  # configs, secrets


@dataclass
class ServiceData:
    data: dict[str, Any] = field(default_factory=dict)
    secrets: set[Path] = field(default_factory=set)  # paths inside `data` from the environment
    published: list[tuple[Path, tuple[str | None, str, str]]] = field(default_factory=list)
    origins: dict[Path, Path] = field(default_factory=dict)  # path in `data` -> Compose path


def _image(value: object, at: Path, ctx: Context) -> str | None:
    if not isinstance(value, str) or not value:
        ctx.error(at, f"image is a reference like 'nginx:1.27', got {kind_of(value)}")
        return None
    return value


def _never(key: str, value: object, at: Path, ctx: Context) -> bool:
    """Whether `key` is refused for good (reported here)."""
    if key in keys.NEVER:
        ctx.error(at, f"{key}: {keys.NEVER[key]}", key=True)
        return True
    text = value if isinstance(value, str) else ""
    if key in ("network_mode", "ipc", "pid") and text.startswith("container:"):
        ctx.error(at, f"{key} {clip(text)!r}: syncd never joins a container it did not create")
        return True
    if key == "volumes_from" and isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, str) and item.startswith("container:"):
                ctx.error(
                    (*at, index), f"{clip(item)!r}: syncd never shares a foreign container's mounts"
                )
                return True
    if key == "pull_policy" and value == "build":
        ctx.error(at, f"pull_policy: build: {keys.BUILD_ADVICE}")
        return True
    return False


def _keys_ok(service: Mapping[str, Any], at: Path, ctx: Context) -> bool:
    """Report unknown and refused keys and note those not carried yet; False if any is refused."""
    refused = False
    for key, value in service.items():
        here = (*at, key)
        if is_extension(key) or key in keys.IGNORED:
            continue
        if key not in keys.ALL:
            ctx.error(here, f"unknown key {key!r}{suggest(key, sorted(keys.ALL))}", key=True)
            refused = True
        elif _never(key, value, here, ctx):
            refused = True
        elif key in keys.LATER:
            ctx.later(here, key, keys.LATER[key])
    if "image" not in service and "build" not in service and "extends" not in service:
        ctx.error(at, "a service needs 'image'")
    return not refused


def _words(value: object, at: Path, ctx: Context) -> list[str] | None:
    words, problems = command_words(value, ctx.place(at))
    for problem in problems:
        ctx.add(problem)
    for word in words or []:
        try:
            check_no_nul(word)
        except ValueError as err:
            ctx.error(at, str(err))
            return None
    return words


def convert_service(  # noqa: PLR0915 - one call per option group
    name: str, service: object, at: Path, ctx: Context, scope: Scope
) -> ServiceData | None:
    if not isinstance(service, dict):
        ctx.error(at, f"a service is a mapping, got {kind_of(service)}")
        return None
    out = ServiceData()
    if not _keys_ok(service, at, ctx):
        return None
    data = out.data
    if "image" in service:
        data["image"] = _image(service["image"], (*at, "image"), ctx)
    for key in ("command", "entrypoint"):
        if key in service:
            data[key] = _words(service[key], (*at, key), ctx)
    env = read_environment(
        service, at, ctx, lookup=scope.lookup, secret=scope.secret_names, revision=scope.revision
    )
    if env is not None:
        data["environment"] = dict(sorted(env.values.items()))
        out.origins.update({("environment", n): env.origins[n] for n in env.values})
        out.secrets.update(("environment", n) for n in env.tainted if n in env.values)
    ports = read_ports(service["ports"], (*at, "ports"), ctx) if "ports" in service else []
    exposed = read_expose(service["expose"], (*at, "expose"), ctx) if "expose" in service else []
    out.published = [  # fixed host ports (Docker picks a free one of a range for each container)
        (where, (port.host_ip, port.published, port.protocol))
        for where, port in ports
        if port.published is not None and "-" not in port.published
    ]
    if ports or exposed:
        carried = native_ports(ports, exposed, ctx)
        data["ports"] = [text for _at, text in carried]
        out.origins.update({("ports", i): where for i, (where, _text) in enumerate(carried)})
    if "volumes" in service:
        mounts = read_volumes(
            service["volumes"],
            (*at, "volumes"),
            ctx,
            declared=scope.volumes,
            revision=scope.revision,
        )
        data["volumes"] = [text for _at, text in mounts]
        out.origins.update({("volumes", i): where for i, (where, _text) in enumerate(mounts)})
    if "healthcheck" in service:
        health = read_healthcheck(service["healthcheck"], (*at, "healthcheck"), ctx)
        if health is not None:
            data["healthcheck"] = health
    if "depends_on" in service:
        where = (*at, "depends_on")
        data["dependsOn"] = read_depends_on(
            service["depends_on"], where, ctx, scope.services, scope.deployed
        )
        out.origins.update(
            {
                ("dependsOn", d): depends_origin(service["depends_on"], where, d)
                for d in data["dependsOn"]
            }
        )
    _restart(service, at, ctx, data)
    deploy = read_deploy(service, at, ctx)
    modes = port_modes(ports, ctx)
    if modes:
        deploy = {**(deploy or {}), "portModes": {text: mode for _at, text, mode in modes}}
        out.origins.update({("deploy", "portModes", text): w for w, text, _mode in modes})
    if deploy is not None:
        data["deploy"] = deploy
    if isinstance(service.get("deploy"), dict):
        swarm_origins(service["deploy"], at, out.origins)
        resources = service["deploy"].get("resources")
        reserved = resources.get("reservations") if isinstance(resources, dict) else None
        if isinstance(reserved, dict) and "cpus" in reserved:
            where = (*at, "deploy", "resources", "reservations", "cpus")
            out.origins[("deploy", "resources", "reservations", "cpus")] = where
        if "replicas" in service["deploy"]:
            out.origins[("deploy", "replicas")] = (*at, "deploy", "replicas")
    if "scale" in service:
        out.origins.setdefault(("deploy", "replicas"), (*at, "scale"))
    if "container_name" in service:
        ctx.warn((*at, "container_name"), "container_name is ignored: syncd names containers")
    # -- option groups (`manifests.options`): each reads its keys into `data` ----------------
    # process
    read_process(
        service,
        at,
        ctx,
        data=data,
        secrets=out.secrets,
        origins=out.origins,
        revision=scope.revision,
    )

    # security
    read_security(service, at, ctx, out)
    read_shared(service, at, ctx, scope, out)  # pid / ipc: service:x
    read_gpus(service, at, ctx, out)

    # network
    read_networking(service, at, ctx, scope, out)

    # files
    read_file_refs(service, at, ctx, scope.file_sources, data=data, origins=out.origins)

    # lifecycle: a fixed host port of several replicas or a start-first update is judged with
    # the engine known (`manifests.enginecheck`)

    # schedule (`x-syncd: {updateSchedule}`)
    read_schedule(service, at, ctx, data, out.origins)

    # -- end of option groups -----------------------------------------------------------------
    _taint(service, at, ctx, out)
    _origins(service, at, out)
    out.data = {k: v for k, v in data.items() if v is not None and k in _MODEL_FIELDS}
    if "image" not in out.data or "extends" in service:
        return None  # in error, or its definition needs `extends` (not carried yet) to be whole
    return out


def _restart(service: Mapping[str, Any], at: Path, ctx: Context, data: dict[str, Any]) -> None:
    restart = (
        read_restart(service["restart"], (*at, "restart"), ctx) if "restart" in service else None
    )
    deploy = service.get("deploy")
    policy = deploy.get("restart_policy") if isinstance(deploy, dict) else None
    if policy is not None:
        where = (*at, "deploy", "restart_policy")
        from_deploy = read_restart_policy(policy, where, ctx)
        if restart is not None and from_deploy is not None and restart != from_deploy:
            ctx.error(where, "restart and deploy.restart_policy differ (condition or retry count)")
        restart = from_deploy or restart
    if restart is not None:
        data["restartPolicy"] = restart


_TAINT_FIELDS = {
    "image": "image", "command": "command", "entrypoint": "entrypoint", "ports": "ports",
    "expose": "ports", "volumes": "volumes", "healthcheck": "healthcheck",
    "depends_on": "dependsOn", "restart": "restartPolicy", "deploy": "deploy",
    "mem_limit": "deploy", "cpus": "deploy",
}  # fmt: skip


_HEALTH_ORIGINS = {"startPeriod": "start_period"}


def _origins(service: Mapping[str, Any], at: Path, out: ServiceData) -> None:
    """Each model field comes from the first Compose key (in `_TAINT_FIELDS`) that gives it."""
    for key, target in _TAINT_FIELDS.items():
        if key in service:
            out.origins.setdefault((target,), (*at, key))
    health = out.data.get("healthcheck") or {}
    for key in health:
        out.origins[("healthcheck", key)] = (*at, "healthcheck", _HEALTH_ORIGINS.get(key, key))
    deploy = service.get("deploy")
    if isinstance(deploy, dict) and "restart_policy" in deploy:
        out.origins[("restartPolicy",)] = (*at, "deploy", "restart_policy")


def _taint(service: Mapping[str, Any], at: Path, ctx: Context, out: ServiceData) -> None:
    """A model field is tainted when any Compose key it was read from took an environment value
    (the environment map is tainted per variable, by `read_environment`)."""
    for key, target in _TAINT_FIELDS.items():
        if key in service and ctx.tainted((*at, key)):
            out.secrets.add((target,))
