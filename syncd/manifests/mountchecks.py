"""A service's mounts, checked across its items: a named volume must be declared and named in
the file, and two mounts (or two tmpfs mounts) never share a mount point.

A mount that took a value from the operator's variables is never compared with the file's own
mounts: whether it clashed would tell a pull request, which writes the others, whether a guess
equals the value. Docker refuses a real clash when the revision is applied.
Pure: no I/O."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from syncd.manifests.fields import MountKind, MountSpec, clean_mountpoint
from syncd.manifests.model import Service, Stack
from syncd.manifests.mountsource import REFUSED, source_from_env
from syncd.manifests.options.files import mount_spec
from syncd.manifests.options.securityvalues import tmpfs
from syncd.manifests.parse import Located, suggest
from syncd.manifests.yamlsafe import Path
from syncd.problems import Problem


def mount_problems(
    located: Located[Stack], base: tuple[str, ...], service: Service
) -> list[Problem]:
    mounts: list[tuple[Path, MountSpec]] = [
        ((*base, "volumes", index), mount_spec(raw))
        for index, raw in enumerate(service.volumes or [])
    ]
    given = service.tmpfs if isinstance(service.tmpfs, list) else []
    problems = _clashes(
        located,
        ((at, clean_mountpoint(mount.target)) for at, mount in mounts),
        lambda target, first: (
            f"mountpoint {target!r} is already used by volumes[{first}]; "
            "Docker refuses a duplicate mount point"
        ),
    )
    problems += _clashes(
        located,
        (((*base, "tmpfs", index), tmpfs(raw)[0]) for index, raw in enumerate(given)),
        lambda target, first: f"{target[:60]!r} is mounted twice (tmpfs[{first}])",
    )
    declared = located.manifest.volumes
    for at, mount in mounts:
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


def _clashes(
    located: Located[Stack], targets: Iterable[tuple[Path, str]], say: Callable[[str, int], str]
) -> list[Problem]:
    """An error at each item whose target an earlier one has (`say(target, its index)`); an item
    that took a value from the operator's variables is left out."""
    problems = []
    first: dict[str, int] = {}
    for at, target in targets:
        if located.tainted(at):
            continue
        if target in first:
            problems.append(located.problem(at, say(target, first[target])))
        first.setdefault(target, int(at[-1]))
    return problems
