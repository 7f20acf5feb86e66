"""A package's import graph, read from its source with `ast` (nothing is imported or run).

`tests/architecture.py` checks syncd's rules on it; `scripts/import-graph.py` prints it. Every
import statement counts, wherever it stands: at module level, inside a function (a lazy import is
still a dependency), under `if TYPE_CHECKING:`, `from syncd import x`, relative imports.
"""

from __future__ import annotations

import ast
import itertools
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Import:
    """One import statement's target, as seen from `source`.

    `target` is a module of the tree when the statement names one (`from syncd.core import plan`
    is `syncd.core.plan`; `from syncd.core.plan import Plan` is `syncd.core.plan`), otherwise the
    dotted name as written (`docker.errors`, `typing`). `lazy`: inside a function (runs when the
    function is called); `type_only`: under `if TYPE_CHECKING:` (never runs, still a dependency).
    """

    source: str
    target: str
    line: int
    lazy: bool = False
    type_only: bool = False

    @property
    def library(self) -> str:
        return self.target.split(".")[0]


@dataclass(frozen=True)
class Graph:
    package: str
    root: Path  # the folder holding the package folder
    files: Mapping[str, Path]  # module name -> file (a package's module is its __init__.py)
    imports: Mapping[str, tuple[Import, ...]]
    docstrings: Mapping[str, str]

    def place(self, module: str) -> str:
        """The module's file, relative to `root` (`syncd/core/plan.py`)."""
        return str(self.files[module].relative_to(self.root))

    def is_package(self, module: str) -> bool:
        return self.files[module].name == "__init__.py"

    def internal(self, module: str) -> Iterator[Import]:
        """The imports of `module` that stay inside the tree."""
        return (i for i in self.imports.get(module, ()) if i.target in self.files)

    def external(self, module: str) -> Iterator[Import]:
        return (i for i in self.imports.get(module, ()) if i.target not in self.files)


def read_graph(root: Path, package: str = "syncd") -> Graph:
    """The import graph of `root/package` (every `*.py` below it)."""
    files: dict[str, Path] = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        files[name] = path
    trees = {
        name: ast.parse(path.read_text(encoding="utf-8"), str(path)) for name, path in files.items()
    }
    imports = {name: tuple(_imports(name, tree, files)) for name, tree in trees.items()}
    docstrings = {name: ast.get_docstring(tree) or "" for name, tree in trees.items()}
    return Graph(package, root, files, imports, docstrings)


def _imports(module: str, tree: ast.Module, files: Mapping[str, Path]) -> Iterator[Import]:
    own_package = module if files[module].name == "__init__.py" else module.rpartition(".")[0]
    for stmt in tree.body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Import | ast.ImportFrom):
                yield from _resolve(module, own_package, node, _context(stmt, node), files)


def _resolve(
    module: str,
    own_package: str,
    node: ast.Import | ast.ImportFrom,
    context: tuple[bool, bool],
    files: Mapping[str, Path],
) -> Iterator[Import]:
    lazy, type_only = context
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield Import(module, _known_prefix(alias.name, files), node.lineno, lazy, type_only)
        return
    base = node.module or ""
    if node.level:
        anchor = own_package.split(".")
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, *([base] if base else [])])
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        target = submodule if submodule in files else _known_prefix(base, files)
        yield Import(module, target, node.lineno, lazy, type_only)


def _known_prefix(name: str, files: Mapping[str, Path]) -> str:
    """`name`, or its longest prefix that is a module of the tree (`syncd.x.Y` -> `syncd.x`)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in files:
            return ".".join(parts[:end])
    return name


def _context(stmt: ast.stmt, target: ast.AST) -> tuple[bool, bool]:
    """(lazy, type_only) of `target` inside the top-level statement `stmt`: whether it stands in
    a function, and whether it is guarded by `if TYPE_CHECKING:`."""
    path = _path_to(stmt, target)
    lazy = type_only = False
    for parent, child in itertools.pairwise(path):
        if isinstance(parent, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            lazy = True
        if isinstance(parent, ast.If) and _is_type_checking(parent.test) and child in parent.body:
            type_only = True
    return lazy, type_only


def _path_to(node: ast.AST, target: ast.AST) -> list[ast.AST]:
    if node is target:
        return [node]
    for child in ast.iter_child_nodes(node):
        found = _path_to(child, target)
        if found:
            return [node, *found]
    return []


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def find_cycles(graph: Graph) -> list[list[str]]:
    """Every import circle between modules through module-level imports (those under
    TYPE_CHECKING included: a circle of types is still a circle; imports inside functions left
    out), one per strongly connected component, as a path `a -> b -> ... -> a`."""
    edges = {
        module: sorted({i.target for i in graph.internal(module) if not i.lazy})
        for module in graph.files
    }
    cycles = []
    for component in _components(edges):
        if len(component) > 1 or component[0] in edges[component[0]]:
            cycles.append(_circle_in(component, edges))
    return sorted(cycles)


def _components(edges: Mapping[str, list[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components (iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(edges[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    result.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(edges.get(child, []))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return result


def _circle_in(component: list[str], edges: Mapping[str, list[str]]) -> list[str]:
    """One shortest circle through the component's first module (breadth-first)."""
    members = set(component)
    start = component[0]
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in edges[node]:
                if child not in members:
                    continue
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if child not in came_from:
                    came_from[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"no circle in component {component}")  # pragma: no cover


def package_of(module: str) -> str:
    """`syncd.core.plan` -> `syncd.core`; a root module (`syncd.ids`) is its own package."""
    parts = module.split(".")
    return ".".join(parts[:2])


def package_arrows(graph: Graph) -> Counter[tuple[str, str]]:
    """Package -> package import counts (one per import statement; inside a package not counted)."""
    arrows: Counter[tuple[str, str]] = Counter()
    for module in graph.files:
        for imp in graph.internal(module):
            source, target = package_of(module), package_of(imp.target)
            if source != target:
                arrows[source, target] += 1
    return arrows
