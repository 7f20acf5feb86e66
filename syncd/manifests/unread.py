"""What the documents that failed to read would have declared, as far as it can be told.

A document with an error (an unset variable, a bad field) is left out of the revision, and its
error says why. The checks across documents must not then report what only its absence causes
(a StackPatch "for a stack no Stack document declares", an image "with no Registry"): those
errors are unrelated to the fix the user needs, and go away with it. `Unread` names the stacks
and the projects' registries that may be missing for that reason: by the identity a failed
document states, or every one when it cannot be told (a Compose file with errors, a file that
did not load, a document whose kind is unreadable). Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from syncd.ids import DEFAULT_STACK, StackKey


@dataclass
class Unread:
    stacks: set[StackKey] = field(default_factory=set)
    projects: set[str] = field(default_factory=set)  # whose Registry documents failed
    any_stack: bool = False  # a failed document may have been any stack
    any_registry: bool = False  # ... or any project's registry

    def unknown(self) -> None:
        """A failed read whose documents cannot be told."""
        self.any_stack = self.any_registry = True

    def add(self, data: Any) -> None:
        """A document that failed to read, with its raw YAML `data`."""
        kind = data.get("kind") if isinstance(data, dict) else None
        project = data.get("project") if isinstance(data, dict) else None
        match kind:
            case "StackPatch":
                return
            case "Stack":
                name = data.get("name", DEFAULT_STACK)
                if _plain(project) and _plain(name):
                    self.stacks.add(StackKey(str(project), str(name)))
                else:
                    self.any_stack = True
            case "Registry":
                if _plain(project):
                    self.projects.add(str(project))
                else:
                    self.any_registry = True
            case _:
                self.unknown()

    def stack(self, key: StackKey) -> bool:
        """Whether stack `key` may be missing only because a document failed to read."""
        return self.any_stack or key in self.stacks

    def registry(self, project: str) -> bool:
        """Whether a Registry of `project` may be missing for that reason."""
        return self.any_registry or project in self.projects


def _plain(value: Any) -> bool:
    """A name as written, not one a variable would fill (`${PROJECT}`): unknown then."""
    return isinstance(value, str) and "$" not in value
