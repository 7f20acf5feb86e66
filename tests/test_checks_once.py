"""The manifest checks run once per revision: the reader checks every document as written, and
`resolve` checks only what StackPatch overlays made (the post-patch check of the resolved state).

A spy wraps each rule of `syncd.manifests.checks` and records which value it was run on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from syncd.core.desired import resolve
from syncd.errors import ManifestError
from syncd.manifests import ManifestSet, read_manifests
from syncd.manifests import checks as checks_module
from tests.planning import File

SHOP = (
    "kind: Stack\nproject: shop\nservices:\n"
    "  web: {image: 'busybox:1.36', ports: ['8080:80']}\n"
    "---\nkind: Stack\nproject: shop\nname: other\nservices:\n"
    "  api: {image: 'busybox:1.36', ports: ['9090:80']}\n"
)
CACHE = "  - {op: add, path: /services/cache, value: {image: 'busybox:1.36'}}\n"
OVERLAY = "kind: StackPatch\nproject: shop\npatch:\n" + CACHE

Seen = list[tuple[str, Any]]


def _stack_value(located: Any) -> tuple[str, tuple[str, ...]]:
    return str(located.manifest.key), tuple(sorted(located.manifest.services))


def _spy(monkeypatch: pytest.MonkeyPatch) -> Seen:
    """Wrap the rules of `checks`; each call records the rule and the stack(s) it ran on."""
    seen: Seen = []

    def wrap(name: str, describe: Callable[..., Any]) -> None:
        real = getattr(checks_module, name)

        def spy(*args: Any) -> Any:
            seen.append((name, describe(*args)))
            return real(*args)

        monkeypatch.setattr(checks_module, name, spy)

    wrap("_stack_problems", _stack_value)
    wrap("_service_names", lambda stacks: tuple(_stack_value(s) for s in stacks))
    wrap("_ports", lambda stacks: tuple(_stack_value(s) for s in stacks))
    wrap("_duplicates", lambda items: None)
    wrap("_patch_sizes", len)
    wrap("_registries", lambda stacks, registries, unread: len(stacks))
    return seen


def _read(*texts: str) -> ManifestSet:
    files = [File(f"{i}.yaml", text.encode()) for i, text in enumerate(texts)]
    return read_manifests(files, {})


def _runs(seen: Seen, name: str) -> list[Any]:
    return [value for rule, value in seen if rule == name]


WRITTEN = (("shop/default", ("web",)), ("shop/other", ("api",)))
PATCHED = (("shop/default", ("cache", "web")), ("shop/other", ("api",)))


def test_with_an_overlay_only_the_patched_values_are_checked_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = _spy(monkeypatch)
    state = resolve(_read(SHOP, OVERLAY), "rev")

    assert sorted(map(str, state.stacks)) == ["shop/default", "shop/other"]
    # Each stack value once: both as written, and the one stack an overlay changed.
    assert sorted(_runs(seen, "_stack_problems")) == sorted([*WRITTEN, PATCHED[0]])
    # The rules across stacks: on the files as written, then on the resolved state.
    assert _runs(seen, "_ports") == [WRITTEN, PATCHED]
    assert _runs(seen, "_service_names") == [WRITTEN, PATCHED]
    # Rules no overlay can break run once: keys (stacks, registries), patch sizes, registries.
    assert len(_runs(seen, "_duplicates")) == 2
    assert _runs(seen, "_patch_sizes") == [1]
    assert _runs(seen, "_registries") == [2]


def test_without_an_overlay_resolve_checks_nothing_again(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _spy(monkeypatch)
    resolve(_read(SHOP), "rev")

    assert sorted(_runs(seen, "_stack_problems")) == sorted(WRITTEN)
    assert _runs(seen, "_ports") == [WRITTEN]
    assert _runs(seen, "_service_names") == [WRITTEN]
    assert len(_runs(seen, "_duplicates")) == 2
    assert _runs(seen, "_registries") == [2]


def test_invalid_documents_are_not_resolved_nor_checked_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clash = CACHE.replace("'busybox:1.36'", "'busybox:1.36', ports: ['8080:81']")
    manifests = _read(SHOP.replace("9090", "8080"), OVERLAY.replace(CACHE, clash))
    [problem] = manifests.errors
    assert "host port 8080/tcp is already published by shop/default/web" in problem.message
    seen = _spy(monkeypatch)

    with pytest.raises(ManifestError) as raised:
        resolve(manifests, "rev")

    assert raised.value.problems == [problem]
    assert seen == []


def test_a_clash_only_the_overlay_makes_is_found_after_patching() -> None:
    clash = CACHE.replace("'busybox:1.36'", "'busybox:1.36', ports: ['9090:81']")
    manifests = _read(SHOP, OVERLAY.replace(CACHE, clash))
    assert manifests.problems == []

    with pytest.raises(ManifestError) as raised:
        resolve(manifests, "rev")

    [problem] = raised.value.problems
    assert problem.path == "0.yaml"  # the stack published second, where the reader would say it
    assert problem.pointer == "/services/api/ports/0"
    assert (problem.position.line, problem.position.column) == (10, 40)
    assert problem.message == (
        "host port 9090/tcp is already published by shop/default/cache at 0.yaml:4:3"
    )
