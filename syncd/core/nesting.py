"""Project-files mounts nested in another service's writable one, refused (a container could
swap the inner folder for a symlink leading out of the project's file area). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from syncd.core.canonical import Spec
from syncd.ids import ServiceKey, StackKey
from syncd.manifests.fields import MountKind, parse_mount
from syncd.manifests.model import Stack
from syncd.manifests.parse import Located
from syncd.manifests.yamlsafe import Path, pointer
from syncd.problems import Problem


def nested_files(
    specs: Iterable[tuple[ServiceKey, Spec]], located: Mapping[StackKey, Located[Stack]]
) -> list[Problem]:
    """A project-files mount inside another service's *writable* project-files mount is refused:
    that container could replace the folder by a symlink (`ln -s / folder`), and Docker follows
    it when it mounts the folder again (a restart), handing the host's root to the first. The
    check runs on the resolved specs of the whole project (overlays and kept fields included),
    in time linear in the length of the paths (a trie of folder names per project)."""
    tries: dict[str, dict[str, Any]] = {}  # project -> folder name -> ...; _WRITER marks a mount
    mounts: list[tuple[ServiceKey, list[str]]] = []
    for service, spec in specs:
        for raw in spec.get("volumes") or []:
            if not isinstance(raw, str):
                continue  # a long form: never a project-files folder
            try:
                mount = parse_mount(raw)
            except ValueError:  # canonical texts always parse; a stored one may not
                continue
            if mount.kind is not MountKind.PROJECT_FILES:
                continue
            names = [n for n in mount.source.split("/") if n not in ("", ".")]
            mounts.append((service, names))
            if not mount.read_only:
                node = tries.setdefault(service.project, {})
                for name in names:
                    node = node.setdefault(name, {})
                node.setdefault(_WRITER, service)
    problems: list[Problem] = []
    for key, names in mounts:
        node = tries.get(key.project, {})
        for name in names:
            writer = node.get(_WRITER)
            if writer is not None:
                problems.append(_nested_problem(located[key.stack_key], key, writer))
                break
            node = node.get(name, {})
    return list({(p.path, p.pointer): p for p in problems}.values())


_WRITER = ""  # never a folder name (empty names are dropped)


def _nested_problem(document: Located[Stack], key: ServiceKey, writer: ServiceKey) -> Problem:
    path: Path = ("services", key.name, "volumes")
    message = (  # names services only: a path may come from the environment
        f"service {key} mounts a project-files folder inside the writable project-files mount "
        f"of {writer}, which could replace it by a symlink leading out of the project's file "
        "area; mount the outer folder read-only (':ro'), or use folders side by side"
    )
    return Problem(document.path, message, pointer(path), document.document.positions.locate(path))
