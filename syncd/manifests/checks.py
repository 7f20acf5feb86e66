"""Rules that span documents: duplicates, dangling references, port clashes, cycles.

Pure: takes located manifests, returns problems.
"""

from __future__ import annotations

from collections.abc import Container, Hashable, Iterable, Mapping, Sequence
from pathlib import PurePath
from typing import Any

from syncd.graph import find_cycle
from syncd.ids import StackKey
from syncd.manifests.fields import parse_port
from syncd.manifests.images import DOCKER_HUB, image_registry_host, registry_address
from syncd.manifests.model import (
    MAX_PATCH_OPS,
    Dependency,
    Registry,
    Service,
    Stack,
    StackPatch,
    Strategy,
)
from syncd.manifests.mountchecks import mount_problems
from syncd.manifests.networkchecks import network_dependencies, network_problems
from syncd.manifests.parse import Located, suggest
from syncd.manifests.sopsfiles import ref_problem
from syncd.manifests.unread import Unread
from syncd.problems import Problem, Severity
from syncd.secretpolicy import file_problem, is_own, unknowable, unset_variable


def _where(located: Located[Any], path: Sequence[str | int] = ()) -> str:
    position = located.document.positions.locate(path)
    return f"{located.path}:{position.line}:{position.column}"


def _duplicates(
    items: Iterable[tuple[Hashable, Located[Any], tuple[str, ...], str]],
) -> list[Problem]:
    first: dict[Hashable, Located[Any]] = {}
    problems = []
    for key, located, path, label in items:
        if key in first:
            problems.append(
                located.problem(path, f"{label} is already declared at {_where(first[key], path)}")
            )
        else:
            first[key] = located
    return problems


def _order_problems(
    located: Located[Stack], base: tuple[str, ...], service: Service
) -> list[Problem]:
    """`update` is the short form of `deploy.updateConfig.order`: both given must agree."""
    config = service.deploy.update_config if service.deploy else None
    if service.update is None or config is None or config.order is service.update:
        return []
    return [
        located.problem(
            (*base, "update"),
            f"update {service.update.value!r} contradicts deploy.updateConfig.order "
            f"{config.order.value!r}: give one of them",
        )
    ]


def _stack_problems(located: Located[Stack]) -> list[Problem]:
    stack = located.manifest
    problems = []
    for name, volume in stack.volumes.items():
        if not volume.external and volume.name is not None and volume.name != name:
            problems.append(
                located.problem(
                    ("volumes", name, "name"), f"the volume's name must equal its key {name!r}"
                )
            )
    graph: dict[str, list[str]] = {}
    for name, service in stack.services.items():
        base: tuple[str, ...] = ("services", name)
        if (
            service.image is None
            and stack.strategy is Strategy.DECLARE
            and service.model_fields_set
        ):
            problems.append(located.problem(base, "missing required field 'image'"))
        elif service.image is None and stack.strategy is Strategy.DECLARE:
            problems.append(
                located.problem(
                    base,
                    "an empty service '{}' removes it only with strategy: update; "
                    "under declare, leave the service out instead",
                )
            )
        if service.environment is not None and service.envs is not None:
            problems.append(
                located.problem((*base, "envs"), "give 'environment' or 'envs', not both")
            )
        elif service.envs is not None:
            problems.append(
                Problem(
                    located.path,
                    "'envs' is deprecated; rename it to 'environment'",
                    f"/services/{name}/envs",
                    located.document.positions.locate((*base, "envs"), key=True),
                    Severity.WARNING,
                )
            )
        problems += _order_problems(located, base, service)
        problems += mount_problems(located, base, service)
        for dep, given in (service.depends_on or {}).items():
            optional = isinstance(given, Dependency) and not given.required
            if dep == name:
                problems.append(
                    located.problem((*base, "dependsOn", dep), "a service cannot depend on itself")
                )
            elif dep not in stack.services and not optional:
                problems.append(
                    located.problem(
                        (*base, "dependsOn", dep),
                        f"no service {dep!r} in this stack{suggest(dep, stack.services)}",
                    )
                )
        after = [*(service.depends_on or {}), *network_dependencies(service)]
        graph[name] = [d for d in after if d in stack.services and d != name]
    problems += network_problems(located)
    cycle = find_cycle(graph)
    if cycle:
        problems.append(
            located.problem(
                ("services", cycle[0], "dependsOn"),
                f"dependency cycle: {' -> '.join(cycle)}",
            )
        )
    return problems


def _ports(stacks: Sequence[Located[Stack]]) -> list[Problem]:
    bound: dict[tuple[int, str], tuple[Located[Stack], tuple[str | int, ...], str]] = {}
    problems = []
    for located in stacks:
        for name, service in located.manifest.services.items():
            for index, raw in enumerate(service.ports or []):
                port = parse_port(raw)
                if port.public is None or not port.fixed:  # a range: Docker picks a free one
                    continue
                path: tuple[str | int, ...] = ("services", name, "ports", index)
                if located.tainted(path):  # never compared: a clash would tell the value
                    continue  # (Docker refuses a real one when the revision is applied)
                owner = f"{located.manifest.key}/{name}"
                key = (port.public, port.protocol.value)
                if key in bound:
                    other, other_path, other_owner = bound[key]
                    problems.append(
                        located.problem(
                            path,
                            f"host port {port.public}/{port.protocol} is already published by "
                            f"{other_owner} at {_where(other, other_path)}",
                        )
                    )
                else:
                    bound[key] = (located, path, owner)
    return problems


def _service_names(stacks: Sequence[Located[Stack]]) -> list[Problem]:
    """Service names are the project network's DNS names, which are blind to case: `Web` and
    `web` are one name, in one stack or across the stacks of a project."""
    seen: dict[tuple[str, str], tuple[Located[Stack], str]] = {}
    problems = []
    for located in stacks:
        for name in located.manifest.services:
            key = (located.manifest.project, name.lower())
            other, first = seen.get(key, (located, name))
            if other.manifest.key != located.manifest.key:
                problems.append(
                    located.problem(
                        ("services", name),
                        f"service {name!r} is also declared by stack {other.manifest.key} "
                        f"({_where(other, ('services', first))}); service names are unique in "
                        "a project, since they are its DNS names",
                        key=True,
                    )
                )
            elif first != name:
                problems.append(
                    located.problem(
                        ("services", name),
                        f"services {first!r} and {name!r} differ only in case: one DNS name in "
                        "the project network",
                        key=True,
                    )
                )
            seen.setdefault(key, (located, name))
    return problems


def _registries(
    stacks: Sequence[Located[Stack]], registries: Sequence[Located[Registry]], unread: Unread
) -> list[Problem]:
    known = {(r.manifest.project, registry_address(r.manifest.uri)) for r in registries}
    problems = []
    for located in stacks:
        for name, service in located.manifest.services.items():
            host = image_registry_host(service.image or "")
            if host is None or registry_address(host) == DOCKER_HUB:
                continue
            project = located.manifest.project
            if (project, registry_address(host)) not in known and not unread.registry(project):
                problem = located.problem(
                    ("services", name, "image"),
                    f"no Registry for {host} in project {located.manifest.project}; "
                    "the image is pulled without credentials",
                )
                problems.append(
                    Problem(
                        problem.path,
                        problem.message,
                        problem.pointer,
                        problem.position,
                        Severity.WARNING,
                    )
                )
    return problems


def _patch_sizes(patches: Sequence[Located[StackPatch]]) -> list[Problem]:
    """At most `MAX_PATCH_OPS` operations per file, counted over all its StackPatch documents;
    the error stands at the first op over the cap."""
    problems: list[Problem] = []
    counted: dict[str, int] = {}
    for patch in sorted(patches, key=lambda p: p.document.index):
        before = counted.get(patch.path, 0)
        counted[patch.path] = before + len(patch.manifest.patch)
        if before <= MAX_PATCH_OPS < counted[patch.path]:
            problems.append(
                patch.problem(
                    ("patch", MAX_PATCH_OPS - before),
                    f"{patch.path} holds more than {MAX_PATCH_OPS} StackPatch operations; "
                    "refused (split the overlay, or write the values into the Stack)",
                )
            )
    return problems


def check(
    stacks: Sequence[Located[Stack]],
    patches: Sequence[Located[StackPatch]],
    registries: Sequence[Located[Registry]],
    unread: Unread | None = None,
) -> list[Problem]:
    """Every cross-document problem of one revision; none that only the documents that
    failed to read (`unread`) cause."""
    unread = unread or Unread()
    problems = _duplicates(
        (s.manifest.key, s, ("name",), f"stack {s.manifest.key}") for s in stacks
    )
    problems += _duplicates(
        (r.manifest.key, r, ("name",), f"registry {r.manifest.key}") for r in registries
    )
    declared: set[StackKey] = {s.manifest.key for s in stacks}
    for patch in patches:
        if patch.manifest.key not in declared and not unread.stack(patch.manifest.key):
            hint = suggest(str(patch.manifest.key), [str(k) for k in declared])
            problems.append(
                patch.problem(
                    ("stack",),
                    f"StackPatch for stack {patch.manifest.key}, which no Stack "
                    f"document declares{hint}",
                )
            )
    problems += _patch_sizes(patches)
    for located in stacks:
        problems += _stack_problems(located)
    problems += _service_names(stacks)
    problems += _ports(stacks)
    problems += _registries(stacks, registries, unread)
    return problems


def check_post_patch(
    stacks: Sequence[Located[Stack]], patched: Container[StackKey]
) -> list[Problem]:
    """The post-patch check of the resolved state: the errors StackPatch overlays brought in.

    `check` saw each document as written; `stacks` are the same stacks with their overlays
    applied (`patched` names those that have some), values no single file showed. Only the
    rules a patch can break run again, each once:
    - the rules of one stack (`image`, `envs`, volume names and mounts, `dependsOn`), on each
      patched stack only: an overlay may add or replace services, volumes and fields, while an
      unpatched stack is the very value `check` saw;
    - service names unique in a project, and host ports published once: an overlay may add a
      service or a port that clashes with another stack, patched or not.
    Not again: stack and registry keys (a patch cannot change kind, project or name: refused
    before this), StackPatch targets and sizes (properties of the patch files), registries and
    their password sources (no patch reaches them). Errors only: warnings are the reader's, said
    of the files as written.
    """
    problems = [p for s in stacks if s.manifest.key in patched for p in _stack_problems(s)]
    problems += _service_names(stacks)
    problems += _ports(stacks)
    return [p for p in problems if p.severity is Severity.ERROR]


def secret_sources(
    registries: Sequence[Located[Registry]],
    variables: Container[str],
    secrets_dir: PurePath | None,
    revision: Mapping[str, bytes] | None = None,
) -> list[Problem]:
    """Every registry password that names a source the operator did not allow: a variable that
    is not one of the operator's `variables`, a file outside `secrets_dir` (lexically; the
    read checks symlinks again), or a `{sops: path#key}` that is not a key of a SOPS file of
    the `revision`'s files."""
    problems = []
    for located in registries:
        credentials = located.manifest.credentials
        if credentials is None:
            continue
        ref = credentials.password
        path = ("credentials", "password")
        missing = ref.env not in variables and not unknowable(ref.env or "")
        if ref.env is not None and (is_own(ref.env) or missing):
            problems.append(located.problem((*path, "env"), unset_variable(ref.env)))
        elif ref.file is not None and (message := file_problem(ref.file, secrets_dir)):
            problems.append(located.problem((*path, "file"), message))
        elif ref.sops is not None and revision is not None:
            found = ref_problem(ref.sops, located.path, revision)
            if found is not None:
                problems.append(located.problem((*path, "sops"), found))
    return problems
