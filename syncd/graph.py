"""Dependency graphs of services (`dependsOn`): a start order, and one cycle to name in an error.

A root leaf (rank 0), not `core/graph.py`: the manifest checks (rank 2) report a cycle at its
file:line, and the plan (core, rank 4) orders services and refuses a cycle; both use these
helpers, and an import may only go down the ranks, so the helpers sit below both. They know
nothing of manifests or specs: a graph is `name -> names it depends on`. Pure: no I/O.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Mapping, Sequence

from syncd.errors import CycleError


def find_cycle(graph: Mapping[str, Sequence[str]]) -> list[str] | None:
    """One dependency cycle of `graph` (as `[a, b, a]`), or None.

    Depth-first from each node in name order, without recursion (a long chain cannot overflow
    the stack); edges to names that are not nodes of the graph are ignored."""
    state: dict[str, int] = {}
    for start in sorted(graph):
        if state.get(start):
            continue
        stack: list[tuple[str, Iterable[str]]] = [(start, iter(sorted(graph.get(start, []))))]
        trail = [start]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(iter(children), None)
            if child is None:
                state[node] = 2
                stack.pop()
                trail.pop()
                continue
            if state.get(child) == 1:
                return [*trail[trail.index(child) :], child]
            if not state.get(child) and child in graph:
                state[child] = 1
                trail.append(child)
                stack.append((child, iter(sorted(graph.get(child, [])))))
    return None


def start_order(graph: Mapping[str, Sequence[str]]) -> list[str]:
    """The nodes with every dependency before its dependents (ties by name), or `CycleError`."""
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for name in sorted(graph):
        sorter.add(name, *sorted(graph[name]))
    try:
        sorter.prepare()
    except graphlib.CycleError as err:
        raise CycleError(find_cycle(graph) or []) from err
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order.extend(ready)
        sorter.done(*ready)
    return order
