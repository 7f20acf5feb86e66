"""Names in Compose files, and how they become syncd's identities (`syncd.ids`).

**Projects.** Compose's project name is lowercase `[a-z0-9_-]`, starting with a letter or digit;
a folder name is normalised to it (lowercased, other characters dropped, leading `_`/`-`
trimmed). syncd's project is a DNS label (`[a-z0-9-]`, at most 63, no `_`, no `-` at either
end): it names Docker objects as `<project>_<stack>_<service>` (the `_` separates them, so it
must not occur inside a project or stack name), the project network, and the uuid5 ids
(`project_id(project)`). So a Compose project name becomes a project by one more step, `_` ->
`-` and the ends trimmed, and the step is shown as a warning when it changes the name (two
Compose names may then meet in one project: `my_app` and `my-app` both give `my-app`; their
stacks then collide and the "already declared" check reports it). `x-syncd.project` must already
be a DNS label: it is what the user chose, never rewritten.

**Services, volumes, networks, configs, secrets.** Compose's alphabet is `[a-zA-Z0-9._-]`
(`_` and `.` included); syncd takes it, with a letter or digit first (Docker's rule for
container and volume names, and no name `.` or `..`) and at most 63 characters (a service
name is its DNS name in the project network). They are unambiguous inside the engine names
(`shop_default_my_db.1`), since project and stack hold no `_`, and in ids (`shop/default/
my_db.1`), since no name holds `/`. DNS is case-blind: `Web` and `web` in one project are
reported (`case_collisions`). Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from syncd.problems import Severity

MAX_LABEL = 63
DNS_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
COMPOSE_PROJECT = re.compile(r"[a-z0-9][a-z0-9_-]*")
COMPOSE_NAME = re.compile(r"[a-zA-Z0-9._-]+")  # the Compose Specification's schema
MEMBER_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")  # what syncd takes of it
_NOT_COMPOSE = re.compile(r"[^a-z0-9_-]+")


class ProjectSource(StrEnum):
    X_SYNCD = "x-syncd.project"
    NAME = "name"
    FOLDER = "folder"


@dataclass(frozen=True)
class ProjectName:
    """The syncd project of a Compose file (None when there is none), where it came from, and a
    message: an error (no project), or a warning (the name was changed to be one)."""

    project: str | None
    source: ProjectSource
    message: str | None = None
    severity: Severity = Severity.WARNING


def _clip(text: str, size: int = 40) -> str:
    return text if len(text) <= size else text[:size] + "..."


def normalize_compose(name: str) -> str:
    """A folder name as Compose makes a project name of it (`My_App 2` -> `my_app2`)."""
    return _NOT_COMPOSE.sub("", name.lower()).lstrip("_-")


def dns_label(name: str) -> str:
    """A Compose project name as a DNS label (`my_app_` -> `my-app`); may be empty."""
    return name.replace("_", "-").strip("-")[:MAX_LABEL].rstrip("-")


def is_dns_label(name: str) -> bool:
    return len(name) <= MAX_LABEL and DNS_LABEL.fullmatch(name) is not None


def _error(source: ProjectSource, message: str) -> ProjectName:
    return ProjectName(None, source, message, Severity.ERROR)


def project_name(x_syncd: str | None, name: str | None, folder: str) -> ProjectName:
    """`x-syncd.project`, else the Compose `name:`, else the folder holding the file."""
    hint = "set x-syncd: {project: <dns label>}"
    if x_syncd is not None:
        if is_dns_label(x_syncd):
            return ProjectName(x_syncd, ProjectSource.X_SYNCD)
        return _error(
            ProjectSource.X_SYNCD,
            f"x-syncd.project {_clip(x_syncd)!r} is not a valid project name: use at most "
            f"{MAX_LABEL} lowercase letters, digits and '-', starting and ending with a letter "
            "or digit",
        )
    if name is not None:
        if not COMPOSE_PROJECT.fullmatch(name):
            return _error(
                ProjectSource.NAME,
                f"name {_clip(name)!r} is not a Compose project name: use lowercase letters, "
                "digits, '_' and '-', starting with a letter or digit",
            )
        return _from(name, ProjectSource.NAME, f"the Compose name {_clip(name)!r}", hint)
    compose = normalize_compose(folder)
    if not compose:
        return _error(
            ProjectSource.FOLDER,
            f"the folder name {_clip(folder)!r} gives no project name; set name: or {hint}",
        )
    return _from(compose, ProjectSource.FOLDER, f"the folder {_clip(folder)!r}", hint)


def _from(compose: str, source: ProjectSource, what: str, hint: str) -> ProjectName:
    label = dns_label(compose)
    if not label:
        return _error(source, f"{what} gives no project name; {hint}")
    if label == compose:
        return ProjectName(label, source)
    return ProjectName(
        label,
        source,
        f"{what} gives the project {label!r}: syncd's project names are DNS labels "
        f"('_' becomes '-', at most {MAX_LABEL} characters); {hint} to choose another",
    )


def member_problem(kind: str, name: str) -> str | None:
    """Why `name` cannot name a service, volume, network, config or secret (`kind`), or None."""
    if len(name) > MAX_LABEL:
        return f"{kind} name {_clip(name)!r} has {len(name)} characters; at most {MAX_LABEL}"
    if MEMBER_NAME.fullmatch(name):
        return None
    if COMPOSE_NAME.fullmatch(name):
        return f"{kind} name {name!r} must start with a letter or digit"
    return (
        f"{kind} name {_clip(name)!r} is not valid: use letters, digits, '_', '.' and '-', "
        "starting with a letter or digit"
    )


def case_collisions(names: Iterable[str]) -> list[tuple[str, str]]:
    """Pairs of names equal but for case (`Web`, `web`): one DNS name in a project network."""
    first: dict[str, str] = {}
    pairs = []
    for name in names:
        folded = name.lower()
        if folded in first:
            pairs.append((first[folded], name))
        else:
            first[folded] = name
    return pairs
