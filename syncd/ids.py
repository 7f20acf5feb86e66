"""Identity: typed keys that print as `shop/default/web`, and deterministic uuid5 ids.

As DESIGN.md fixes them: uuid5 of one namespace and `project`, `project/stack`,
`project/stack/service`, `project/stack/volume` or `project/registry`. Services and volumes (or
stacks and registries) of one name share an id; they are never looked up in the same table.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

# Fixed namespace for every syncd id. Changing it would change every id: never do that.
NAMESPACE = uuid.UUID("5f0c8a52-3c1b-5d7e-9a41-7b2d6c0e8f13")
DEFAULT_STACK = "default"


def _uuid(name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, name))


def short_id(prefix: str, full_id: str) -> str:
    """A short, readable id in mittwald's style (`s-1a2b3c`), derived from the full id."""
    return f"{prefix}-{full_id.replace('-', '')[:6]}"


def project_id(project: str) -> str:
    return _uuid(project)


@dataclass(frozen=True, order=True)
class StackKey:
    project: str
    stack: str

    def __str__(self) -> str:
        return f"{self.project}/{self.stack}"

    @property
    def id(self) -> str:
        """The stack named `default` shares its project's id, as in mittwald."""
        if self.stack == DEFAULT_STACK:
            return project_id(self.project)
        return _uuid(f"{self.project}/{self.stack}")

    @property
    def project_id(self) -> str:
        return project_id(self.project)

    def service(self, name: str) -> ServiceKey:
        return ServiceKey(self.project, self.stack, name)

    def volume(self, name: str) -> VolumeKey:
        return VolumeKey(self.project, self.stack, name)


@dataclass(frozen=True, order=True)
class _StackMember:
    """Something named inside a stack; prints as `project/stack/name`."""

    project: str
    stack: str
    name: str

    def __str__(self) -> str:
        return f"{self.project}/{self.stack}/{self.name}"

    @property
    def stack_key(self) -> StackKey:
        return StackKey(self.project, self.stack)

    @property
    def id(self) -> str:
        return _uuid(str(self))


class ServiceKey(_StackMember):
    """A service: `shop/default/web`."""


class VolumeKey(_StackMember):
    """A stack volume: `shop/default/data`."""


@dataclass(frozen=True, order=True)
class RegistryKey:
    project: str
    name: str

    def __str__(self) -> str:
        return f"{self.project}/{self.name}"

    @property
    def id(self) -> str:
        return _uuid(str(self))

    @property
    def project_id(self) -> str:
        return project_id(self.project)
