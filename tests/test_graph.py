"""Dependency graphs: the start order of services and the one cycle an error names."""

from __future__ import annotations

from typing import Any

import pytest

from syncd.errors import CycleError
from syncd.graph import find_cycle, start_order

CYCLES = {
    "none": ({"a": ["b"], "b": ["c"], "c": []}, None),
    "self": ({"a": ["a"]}, ["a", "a"]),
    "two": ({"b": ["a"], "a": ["b"]}, ["a", "b", "a"]),
    "three, entered from a tail": (
        {"a": ["b"], "b": ["c"], "c": ["d"], "d": ["b"]},
        ["b", "c", "d", "b"],
    ),
    "diamond": ({"a": ["b", "c"], "b": ["d"], "c": ["d"], "d": []}, None),
    "a node seen before is no cycle": ({"a": ["c"], "b": ["c"], "c": []}, None),
    "edges to unknown names are ignored": ({"a": ["x"], "x2": ["a"]}, None),
    "after a node seen before": ({"a": ["b"], "b": [], "x": ["y"], "y": ["x"]}, ["x", "y", "x"]),
    "the first in name order": ({"z": ["y"], "y": ["z"], "b": ["c"], "c": ["b"]}, ["b", "c", "b"]),
}


@pytest.mark.parametrize(("graph", "cycle"), CYCLES.values(), ids=CYCLES.keys())
def test_find_cycle_names_one_cycle_from_its_first_node(
    graph: dict[str, list[str]], cycle: list[str] | None
) -> None:
    assert find_cycle(graph) == cycle


class _Counted(dict[str, list[str]]):
    """A graph that counts how often each node's edges are read."""

    def __init__(self, edges: dict[str, list[str]]) -> None:
        super().__init__(edges)
        self.reads: dict[str, int] = {}

    def get(self, key: str, default: object = None) -> Any:
        self.reads[key] = self.reads.get(key, 0) + 1
        return super().get(key, default)


def test_find_cycle_reads_each_nodes_edges_once() -> None:
    """Linear in the size of the graph: a node reached again, done or not, is not entered."""
    diamonds = {f"n{i}": [f"n{i + 1}", f"m{i}"] for i in range(10)}
    diamonds |= {f"m{i}": [f"n{i + 1}"] for i in range(10)} | {"n10": []}
    graph = _Counted(diamonds)
    assert find_cycle(graph) is None
    assert graph.reads == dict.fromkeys(diamonds, 1)


def test_a_long_chain_does_not_overflow_the_stack() -> None:
    graph = {f"s{i:05}": [f"s{i + 1:05}"] for i in range(20_000)}
    assert find_cycle(graph) is None
    graph["s20000"] = ["s00000"]
    cycle = find_cycle(graph)
    assert cycle is not None and len(cycle) == 20_002 and cycle[0] == cycle[-1] == "s00000"


ORDERS = {
    "dependencies first": ({"web": ["db"], "db": []}, ["db", "web"]),
    "ties by name": ({"c": [], "a": [], "b": []}, ["a", "b", "c"]),
    "in layers": (
        {"web": ["api", "cache"], "api": ["db"], "cache": [], "db": []},
        ["cache", "db", "api", "web"],
    ),
    "empty": ({}, []),
}


@pytest.mark.parametrize(("graph", "order"), ORDERS.values(), ids=ORDERS.keys())
def test_start_order_starts_every_dependency_first(
    graph: dict[str, list[str]], order: list[str]
) -> None:
    assert start_order(graph) == order


def test_start_order_of_a_cycle_names_it() -> None:
    with pytest.raises(CycleError) as raised:
        start_order({"web": ["api"], "api": ["web"], "db": []})
    assert raised.value.cycle == ["api", "web", "api"]
    assert str(raised.value) == "api -> web -> api"
