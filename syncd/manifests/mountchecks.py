"""A service's mounts, checked across its items: a named volume must be declared and named in
the file, and two mounts (or two tmpfs mounts) never share a mount point.

A mount that took a value from the operator's variables is never compared with the file's own
mounts: whether it clashed would tell a pull request, which writes the others, whether a guess
equals the value. Docker refuses a real clash when the revision is applied.
Pure: no I/O."""

from __future__ import annotations

from syncd.manifests.fields import MountKind, clean_mountpoint
from syncd.manifests.model import Service, Stack
from syncd.manifests.mountsource import REFUSED, source_from_env
from syncd.manifests.options.files import mount_spec
from syncd.manifests.options.securityvalues import tmpfs_targets
from syncd.manifests.parse import Located, suggest
from syncd.problems import Problem


def mount_problems(
    located: Located[Stack], base: tuple[str, ...], service: Service
) -> list[Problem]:
    return _volumes(located, base, service) + _tmpfs(located, base, service)


def _volumes(located: Located[Stack], base: tuple[str, ...], service: Service) -> list[Problem]:
    problems = []
    declared = located.manifest.volumes
    mountpoints: dict[str, int] = {}
    for index, raw in enumerate(service.volumes or []):
        at: tuple[str | int, ...] = (*base, "volumes", index)
        mount = mount_spec(raw)
        target = clean_mountpoint(mount.target)
        if not located.tainted(at):
            if target in mountpoints:
                problems.append(
                    located.problem(
                        at,
                        f"mountpoint {target!r} is already used by volumes[{mountpoints[target]}]; "
                        "Docker refuses a duplicate mount point",
                    )
                )
            mountpoints.setdefault(target, index)
        if mount.kind is not MountKind.VOLUME or not mount.source:
            continue
        if source_from_env(at, located.secrets, located.templates):
            problems.append(located.problem(at, REFUSED))
        elif mount.source not in declared:
            problems.append(
                located.problem(
                    at,
                    f"volume {mount.source!r} is not declared under this stack's 'volumes'"
                    f"{suggest(mount.source, declared)}",
                )
            )
    return problems


def _tmpfs(located: Located[Stack], base: tuple[str, ...], service: Service) -> list[Problem]:
    problems = []
    given = service.tmpfs if isinstance(service.tmpfs, list) else []
    seen: dict[str, int] = {}
    for index, raw in enumerate(given):
        at: tuple[str | int, ...] = (*base, "tmpfs", index)
        if located.tainted(at):
            continue
        [target] = tmpfs_targets([raw])
        if target in seen:
            problems.append(
                located.problem(at, f"{target[:60]!r} is mounted twice (tmpfs[{seen[target]}])")
            )
        seen.setdefault(target, index)
    return problems
