"""Applying StackPatches: 2,000 `test` ops on a stack of 20,000 env keys, and a 22-copy bomb.

Both took half a minute or more on main (a copy of the document per op; a list doubled 22 times).
The first must stay linear in the ops, the second must be refused at the value budget.
"""

from __future__ import annotations

from bench.common import BenchFailure, Figure, timeit_median
from syncd.core.desired import DesiredState, resolve
from syncd.errors import ManifestError
from syncd.manifests import ManifestSet, read_manifests

KEYS, TESTS, COPIES = 20_000, 2_000, 22
REPEAT = 5


class _File:
    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.data = text.encode()


def _tests_repo() -> ManifestSet:
    stack = "kind: Stack\nproject: p\nservices:\n  web:\n    image: busybox:1.36\n"
    stack += "    environment:\n" + "".join(f"      K{i}: v{i}\n" for i in range(KEYS))
    patch = "---\nkind: StackPatch\nproject: p\npatch:\n" + "".join(
        f"  - {{op: test, path: /services/web/environment/K{i * 10}, value: v{i * 10}}}\n"
        for i in range(TESTS)
    )
    manifests = read_manifests([_File("tests.yaml", stack + patch)], env={})
    if manifests.errors:
        raise BenchFailure(f"generated patch is invalid: {manifests.errors[0]}")
    return manifests


def _bomb_repo() -> ManifestSet:
    stack = "kind: Stack\nproject: p\nservices: {web: {image: 'busybox:1.36', command: [a]}}\n"
    copy = "  - {op: copy, from: /services/web/command, path: /services/web/command/-}\n"
    text = stack + "---\nkind: StackPatch\nproject: p\npatch:\n" + copy * COPIES
    manifests = read_manifests([_File("bomb.yaml", text)], env={})
    if manifests.errors:
        raise BenchFailure(f"generated bomb is invalid: {manifests.errors[0]}")
    return manifests


def _resolve_tests(manifests: ManifestSet) -> DesiredState:
    state = resolve(manifests, "head")
    if len(next(iter(state.stacks.values())).services["web"].spec["environment"]) != KEYS:
        raise BenchFailure("the patched stack lost environment keys")
    return state


def _refuse_bomb(manifests: ManifestSet) -> None:
    try:
        resolve(manifests, "head")
    except ManifestError as err:
        if "values" not in str(err):
            raise BenchFailure(f"the bomb failed for another reason: {err}") from None
        return
    raise BenchFailure("the copy bomb was applied instead of refused")


def run() -> list[Figure]:
    tests, bomb = _tests_repo(), _bomb_repo()
    applied, applied_p95 = timeit_median(lambda: _resolve_tests(tests), REPEAT)
    refused, refused_p95 = timeit_median(lambda: _refuse_bomb(bomb), REPEAT)
    return [
        Figure(
            f"stackpatch: resolve, {TESTS} test ops on {KEYS} env keys",
            applied,
            "s",
            f"main: 112 s (a document copy per op); p95 {applied_p95:.3g} s",
        ),
        Figure(
            f"stackpatch: refuse a {COPIES}-copy bomb",
            refused,
            "s",
            f"main: 28 s and 856 MB; p95 {refused_p95:.3g} s",
        ),
    ]
