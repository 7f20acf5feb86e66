"""A desired service's canonical spec -> the `ContainerRequest` an engine creates. Pure: no I/O.

Project-file mounts are resolved by the caller-supplied `files` function (the reconciler makes
and confines the folder); everything else is a straight translation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from syncd.core import options
from syncd.core.desired import DesiredService
from syncd.core.options import process, seccomp
from syncd.core.options import volumes as volume_options
from syncd.engine.base import ContainerRequest, HealthProbe, Mount, Port, service_labels
from syncd.manifests.fields import MountKind, parse_mount, parse_port
from syncd.manifests.model import RestartPolicy

NANO = 1_000_000_000
FilesResolver = Callable[[str, str], str]  # (project, "/sub/dir") -> absolute host path
# a file from git, config or secret entry of the spec -> the host path of its content
ContentResolver = Callable[[Mapping[str, Any]], str]


# a `seccompProfile` entry of the spec -> the profile's JSON text (`core.options.seccomp`)
TextResolver = Callable[[Mapping[str, Any]], str]


def _no_content(entry: Mapping[str, Any]) -> str:
    raise ValueError(f"no content resolver for {entry.get('source')!r}")


def _options(spec: Mapping[str, Any], text: TextResolver) -> dict[str, Any]:
    """Every option field's canonical value; a seccomp profile file replaced by its JSON."""
    out = {name: spec.get(name, default) for name, default in options.DEFAULTS.items()}
    profile = out.get(seccomp.FIELD)
    return seccomp.with_content(out, text(profile)) if profile else out


def _mount(entry: Mapping[str, Any], content: ContentResolver, service: str, replica: int) -> Mount:
    """A long-form `volumes` entry (`core.options.files`, `core.options.volumes`) as the engine
    mounts it."""
    target, read_only = str(entry["target"]), bool(entry.get("readOnly"))
    nocopy = bool(entry.get("nocopy"))
    match entry.get("type"):
        case "anonymous":  # the service's own volume for this target and replica
            source = volume_options.anonymous_name(service, target, replica)
            return Mount(target, source, read_only=read_only, no_copy=nocopy)
        case "external":
            source = str(entry["source"])
            return Mount(target, source, read_only=read_only, no_copy=nocopy, external=True)
        case "git":
            return Mount(target, content(entry), bind=True, read_only=True)
        case "bind":
            return Mount(target, str(entry["source"]), True, read_only, entry.get("propagation"))
        case "tmpfs":
            return Mount(target, "", read_only=read_only, tmpfs=True,
                         tmpfs_size=entry.get("size"), tmpfs_mode=entry.get("mode"))  # fmt: skip
        case _:
            return Mount(target, str(entry["source"]), read_only=read_only, no_copy=True)


def container_request(
    service: DesiredService,
    *,
    instance: str,
    revision: str | None,
    files: FilesResolver,
    content: ContentResolver = _no_content,
    text: TextResolver = _no_content,
    environment: dict[str, str] | None = None,
    stop_timeout: int = 10,
    replica: int = 1,
    label_hash: str | None = None,
) -> ContainerRequest:
    """`label_hash`: the config hash to label the container with when it joins replicas made
    from an equivalent spec (only metadata differs), else the spec's own hash."""
    spec = service.spec
    key = service.key
    mounts = []
    for raw in spec.get("volumes") or []:
        if not isinstance(raw, str):
            mounts.append(_mount(raw, content, key.name, replica))
            continue
        mount = parse_mount(raw)
        if mount.kind is MountKind.PROJECT_FILES:
            source, bind = files(key.project, mount.source), True
        else:
            source, bind = mount.source, False
        mounts.append(Mount(mount.target, source, bind, mount.read_only))
    for name in ("configs", "secrets"):
        for entry in spec.get(name) or []:
            mounts.append(Mount(str(entry["target"]), content(entry), bind=True, read_only=True))
    ports = []
    for raw in spec.get("ports") or []:
        port = parse_port(raw)
        ports.append(
            Port(
                port.container,
                port.protocol.value,
                port.public,
                port.host_ip,
                port.ephemeral,
                port.public_last,
            )
        )
    check = spec.get("healthcheck")
    probe = (
        HealthProbe(
            test=tuple(check["test"] or ()),  # empty: the image's test
            interval=check["interval"] or 0.0,  # 0: the image's value, else Docker's default
            timeout=check["timeout"] or 0.0,
            start_period=check["startPeriod"] or 0.0,
            retries=check["retries"] or 0,
        )
        if check
        else None
    )
    cpus = spec.get("cpus")
    command = spec.get("command")
    entrypoint = spec.get("entrypoint")
    return ContainerRequest(
        key=key,
        image=str(spec["image"]),
        # the manifest's labels never hold `syncd.*` (the model refuses them); syncd's win anyway
        labels={
            **(spec.get("labels") or {}),
            **service_labels(instance, key, label_hash or service.hash, revision, replica),
        },
        command=tuple(command) if command is not None else None,
        entrypoint=tuple(entrypoint) if entrypoint is not None else None,
        environment=environment if environment is not None else dict(spec.get("environment") or {}),
        ports=tuple(ports),
        mounts=tuple(mounts),
        nano_cpus=int(Decimal(cpus) * NANO) if cpus is not None else None,
        memory=spec.get("memory"),
        restart_policy=RestartPolicy(spec.get("restartPolicy") or RestartPolicy.NO),
        healthcheck=probe,
        stop_timeout=process.stop_timeout(spec, stop_timeout),
        options=_options(spec, text),
        replica=replica,
    )
