"""syncd's architecture as rules on its import graph: the table of ranks, purity, library owners.

`tests/test_purity.py` enforces `check`; `scripts/import-graph.py` prints the graph with the ranks.
A new module is covered by being in a package of the table; a new package or root module is
reported until the table gives it a rank and says what it owns.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from tests.importgraph import Graph, Import, find_cycles

PACKAGE = "syncd"


@dataclass(frozen=True)
class Layer:
    rank: int
    owns: str
    pure: bool = False  # imports no I/O library (FORBIDDEN), even through what it imports


# The stages of the pipeline, lowest first. An import may only go to the same or a lower rank.
PACKAGES: Mapping[str, Layer] = {
    "sops": Layer(0, "the SOPS file format: parse, encrypt, decrypt with age keys", pure=True),
    "source": Layer(1, "where revisions come from: git, directories, ref watching, webhooks"),
    "manifests": Layer(2, "documents -> typed, located manifests and problems", pure=True),
    "engine": Layer(3, "the engine boundary: `base` vocabulary (pure), `docker` adapter"),
    "core": Layer(4, "desired, live, observe, plan: values in, values out", pure=True),
    "render": Layer(5, "a plan as text, markdown, JSON", pure=True),
    "apply": Layer(6, "reconcile and execute a plan; the state store; registry credentials"),
    "daemon": Layer(7, "the loop, triggers, status, history, metrics, operator tasks"),
    "api": Layer(8, "HTTP only: server, routes, response models, views of the snapshot"),
    "cli": Layer(9, "the `syncd` command; `run` wires daemon, API and server"),
}
# Pure modules in packages that are not: these, and every module whose docstring says
# "Pure:" or "Pure." (a claim the test holds it to).
PURE_MODULES = frozenset({"syncd.engine.base", "syncd.daemon.status"})
PURE_CLAIM = re.compile(r"\bPure[:.]")

# Shared leaves at the root, rank 0. Reading a file is allowed in a pure leaf (settings, the data
# dir, the operator's env files); what a pure module must not import is in FORBIDDEN.
ROOT_LEAVES: Mapping[str, Layer] = {
    "ids": Layer(0, "typed keys and deterministic uuid5 ids", pure=True),
    "progress": Layer(0, "progress events of long work, and the seam that reports them", pure=True),
    "timestamps": Layer(0, "moments as answers show them: ISO 8601 in UTC", pure=True),
    "errors": Layer(0, "every error class", pure=True),
    "problems": Layer(0, "a finding about a manifest and its place: `Problem`", pure=True),
    "taint": Layer(0, "which values are secret, and redaction", pure=True),
    "logs": Layer(0, "structlog configuration: writes to stderr"),
    "settings": Layer(0, "shared settings: flags, SYNCD_* variables, a config file", pure=True),
    "layers": Layer(
        0, "where a setting comes from: flag, SYNCD_*, config file, default", pure=True
    ),
    "datadir": Layer(0, "the data dir's layout and modes (makes folders)", pure=True),
    "secretpolicy": Layer(0, "which secret sources a manifest may name", pure=True),
    "operatorenv": Layer(0, "the operator's variables and secret files (reads them)", pure=True),
    # arriving with issue 12's other branches: dependency graphs shared by manifests and core,
    # and the operator's policy (checked by manifests, applied by the engine)
    "graph": Layer(0, "service dependency graphs: start order, one cycle to name", pure=True),
    "policy": Layer(0, "the operator's policy: what a manifest may ask of the host", pure=True),
    "policyvalues": Layer(0, "the policy's values: names, paths, addresses, checked", pure=True),
    "composepaths": Layer(
        0, "which files are Compose files, which folders Compose projects", pure=True
    ),
    "signers": Layer(0, "which commits may be applied: the signature settings", pure=True),
    "gcpause": Layer(0, "the cyclic garbage collector paused while a revision is read", pure=True),
}
# Entry points: not imported by syncd's modules, may import anything. `syncd` itself (the root
# `__init__`, only `__version__`) counts as a root leaf when imported.
ENTRY_POINTS = frozenset({"syncd", "syncd.__main__"})
ROOT_PACKAGE = Layer(0, "the package itself: `__version__`")

# I/O libraries: a pure module imports none of them, directly or through syncd's own modules.
FORBIDDEN = frozenset(
    {
        "docker",
        "git",
        "socket",
        "watchfiles",
        "http",
        "urllib.request",  # urllib.parse only parses strings
        "subprocess",
        "sqlite3",
        "requests",
        "httpx",
        "fastapi",
        "starlette",
        "uvicorn",
        "asyncio",
    }
)
# Libraries only some modules may import (a module or a whole package).
LIBRARY_OWNERS: Mapping[str, tuple[str, ...]] = {
    "docker": (
        "syncd.engine.docker",
        "syncd.engine.swarm",
        "syncd.engine.client",
        "syncd.engine.swarmtasks",
        "syncd.engine.inventory",
    ),
    "git": ("syncd.source",),
    "watchfiles": ("syncd.source",),
    "fastapi": ("syncd.api", "syncd.cli"),
    "starlette": ("syncd.api", "syncd.cli"),
    "uvicorn": ("syncd.api", "syncd.cli"),
    "sqlite3": ("syncd.apply.store", "syncd.apply.storehistory"),
}

TABLE = "tests/architecture.py"


class Rule(StrEnum):
    UNRANKED = "unranked"
    RANK = "rank"
    CYCLE = "cycle"
    PURITY = "purity"
    LIBRARY = "library"


@dataclass(frozen=True, order=True)
class Violation:
    """`key` names the violation without line numbers (so a list of known ones stays valid while
    code moves); `detail` says where and what to do."""

    rule: Rule
    subject: str
    detail: str = field(compare=False)

    @property
    def key(self) -> str:
        return f"{self.rule}: {self.subject}"

    def __str__(self) -> str:
        return f"{self.key}\n    {self.detail}"


def layer_of(module: str) -> Layer | None:
    """The layer a module belongs to; None for a module no table knows."""
    if module in ENTRY_POINTS:
        return ROOT_PACKAGE
    parts = module.split(".")
    if parts[0] != PACKAGE or len(parts) < 2:
        return None
    if len(parts) == 2 and parts[1] in ROOT_LEAVES:
        return ROOT_LEAVES[parts[1]]
    return PACKAGES.get(parts[1])


def is_pure(graph: Graph, module: str) -> bool:
    layer = layer_of(module)
    if module in ENTRY_POINTS:
        return False
    return (
        module in PURE_MODULES
        or (layer is not None and layer.pure)
        or bool(PURE_CLAIM.search(graph.docstrings.get(module, "")))
    )


def check(graph: Graph) -> list[Violation]:
    """Every violation of every rule in `graph`."""
    return sorted(
        [
            *unranked(graph),
            *upward_imports(graph),
            *cycles(graph),
            *impure(graph),
            *misplaced_libraries(graph),
        ]
    )


def unranked(graph: Graph) -> Iterator[Violation]:
    for module in graph.files:
        if layer_of(module) is not None:
            continue
        place = graph.place(module)
        parts = module.split(".")
        if len(parts) == 2 and not graph.is_package(module):
            what = f"a new root module: add `{parts[1]}` to ROOT_LEAVES"
        else:
            what = f"package `{parts[1]}` has no rank: add it to PACKAGES"
        yield Violation(
            Rule.UNRANKED,
            module,
            f"{place}: {what} in {TABLE} with its rank and what it owns (or move the module)",
        )


def upward_imports(graph: Graph) -> Iterator[Violation]:
    for module in graph.files:
        layer = layer_of(module)
        if layer is None or module in ENTRY_POINTS:
            continue
        by_target: dict[str, list[Import]] = {}
        for imp in graph.internal(module):
            target = layer_of(imp.target)
            if target is not None and target.rank > layer.rank:
                by_target.setdefault(imp.target, []).append(imp)
        for target_module, imps in by_target.items():
            target = layer_of(target_module)
            assert target is not None
            yield Violation(
                Rule.RANK,
                f"{module} -> {target_module}",
                f"{graph.place(module)}:{_lines([i.line for i in imps])}: rank {layer.rank} "
                f"imports rank {target.rank}; an import may only go to the same or a lower rank",
            )


def cycles(graph: Graph) -> Iterator[Violation]:
    for circle in find_cycles(graph):
        yield Violation(
            Rule.CYCLE,
            " -> ".join(circle),
            "module-level imports (TYPE_CHECKING ones included) go round in a circle",
        )


def impure(graph: Graph) -> Iterator[Violation]:
    for module in sorted(PURE_MODULES - set(graph.files)):
        yield Violation(
            Rule.PURITY,
            f"{module} is gone",
            f"PURE_MODULES in {TABLE} names a module the tree no longer has: update it",
        )
    for module in graph.files:
        if not is_pure(graph, module):
            continue
        reached: dict[str, list[str]] = {}
        for name, chain in sorted(reached_libraries(graph, module).items()):
            library = forbidden(name)
            if library is not None:
                reached.setdefault(library, chain)
        for library, chain in reached.items():
            yield Violation(
                Rule.PURITY,
                f"{module} -> {library}",
                f"{graph.place(module)}: a pure module reaches an I/O library: "
                + " -> ".join(chain),
            )


def reached_libraries(graph: Graph, start: str) -> dict[str, list[str]]:
    """Every outside module `start` imports, directly or through the tree's modules, with one
    import chain to it. Every import counts, also inside functions and under TYPE_CHECKING.

    The packages Python loads first (`syncd.engine` for `syncd.engine.base`) are not followed:
    `test_importing_the_pure_packages_loads_no_io_library` checks what really loads.
    """
    chains: dict[str, list[str]] = {start: [start]}
    todo = [start]
    outside: dict[str, list[str]] = {}
    while todo:
        module = todo.pop(0)
        for imp in graph.imports.get(module, ()):
            chain = [*chains[module], imp.target]
            if imp.target not in graph.files:
                outside.setdefault(imp.target, chain)
            elif imp.target not in chains:
                chains[imp.target] = chain
                todo.append(imp.target)
    return outside


def forbidden(name: str) -> str | None:
    """The FORBIDDEN entry that covers module `name` (`docker.errors` -> `docker`), if any."""
    parts = name.split(".")
    return next(
        (
            ".".join(parts[:end])
            for end in range(1, len(parts) + 1)
            if ".".join(parts[:end]) in FORBIDDEN
        ),
        None,
    )


def misplaced_libraries(graph: Graph) -> Iterator[Violation]:
    for module in graph.files:
        lines: dict[str, list[int]] = {}
        for imp in graph.external(module):
            owners = LIBRARY_OWNERS.get(imp.library, ())
            if owners and not any(module == o or module.startswith(f"{o}.") for o in owners):
                lines.setdefault(imp.library, []).append(imp.line)
        for library, numbers in lines.items():
            allowed = ", ".join(LIBRARY_OWNERS[library])
            yield Violation(
                Rule.LIBRARY,
                f"{module} -> {library}",
                f"{graph.place(module)}:{_lines(numbers)}: only {allowed} may import {library}",
            )


def _lines(numbers: list[int]) -> str:
    return ", ".join(str(n) for n in sorted(set(numbers)))
