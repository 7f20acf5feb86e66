#!/usr/bin/env python3
"""Print syncd's import graph: package -> package arrows with counts, then any import circle.

Modules are the nodes and import statements the arrows (all of them: module level, inside
functions, under TYPE_CHECKING); with packages as nodes, arrows inside one package are not
shown. Each node carries its rank from `tests/architecture.py`; an arrow to a higher rank is
marked UP. Ends with every
violation `tests/test_purity.py` checks, and exits 1 if there is one.

    .venv/bin/python scripts/import-graph.py            # text
    .venv/bin/python scripts/import-graph.py --dot      # Graphviz: | dot -Tsvg > imports.svg
    .venv/bin/python scripts/import-graph.py --modules  # module -> module arrows instead
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.architecture import ENTRY_POINTS, PACKAGE, Rule, check, layer_of  # noqa: E402
from tests.importgraph import Graph, package_arrows, read_graph  # noqa: E402


def rank(module: str) -> int:
    """The module's rank; -1 for one the table does not know, 99 for an entry point."""
    layer = layer_of(module)
    return 99 if module in ENTRY_POINTS - {PACKAGE} else -1 if layer is None else layer.rank


def node(module: str) -> str:
    shown = {99: "entry", -1: "?"}.get(rank(module), str(rank(module)))
    return f"[{shown}] {label(module)}"


def label(module: str) -> str:
    return module.removeprefix(f"{PACKAGE}.") if module != PACKAGE else f"{PACKAGE} (root)"


def module_arrows(graph: Graph) -> Counter[tuple[str, str]]:
    arrows: Counter[tuple[str, str]] = Counter()
    for module in graph.files:
        for imp in graph.internal(module):
            if imp.target != module:
                arrows[module, imp.target] += 1
    return arrows


def text(graph: Graph, arrows: Counter[tuple[str, str]]) -> list[str]:
    """One line per importing node: its arrows, lowest rank first, with counts."""
    targets: dict[str, list[tuple[str, int]]] = {}
    for (source, target), count in arrows.items():
        targets.setdefault(source, []).append((target, count))
    width = max(len(node(s)) for s in targets)
    lines = [
        f"{PACKAGE}: {len(graph.files)} modules, {sum(arrows.values())} imported names between "
        "the nodes below. [rank] node -> target count; UP: to a higher rank",
    ]
    for source in sorted(targets, key=lambda m: (rank(m), m)):
        shown = [
            f"{'UP ' if rank(t) > rank(source) else ''}{label(t)} {n}"
            for t, n in sorted(targets[source], key=lambda tn: (rank(tn[0]), tn[0]))
        ]
        lines.append(f"  {node(source):<{width}} -> {', '.join(shown)}")
    return lines


def dot(arrows: Counter[tuple[str, str]]) -> list[str]:
    lines = ["digraph syncd {", "  rankdir=BT; node [shape=box];"]
    for (source, target), count in sorted(arrows.items()):
        colour = ' color="red"' if rank(target) > rank(source) else ""
        lines.append(f'  "{label(source)}" -> "{label(target)}" [label="{count}"{colour}];')
    return [*lines, "}"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dot", action="store_true", help="Graphviz dot instead of text")
    parser.add_argument("--modules", action="store_true", help="module arrows, not packages")
    args = parser.parse_args()
    graph = read_graph(ROOT, PACKAGE)
    arrows = module_arrows(graph) if args.modules else package_arrows(graph)
    violations = check(graph)
    if args.dot:
        print("\n".join(dot(arrows)))
        return 1 if violations else 0
    print("\n".join(text(graph, arrows)))
    circles = [v.subject for v in violations if v.rule is Rule.CYCLE]
    print(f"\nimport circles (module-level imports): {len(circles) or 'none'}")
    for circle in circles:
        print(f"  {circle}")
    print(f"\nviolations of the rules tests/test_purity.py checks: {len(violations) or 'none'}")
    for violation in violations:
        print(f"  {violation}")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
