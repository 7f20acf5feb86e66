"""StackPatch application: RFC 6902 operations on one stack, bounded, and without leaks.

- One copy of the stack is patched in place, op by op, through `jsonpatch`'s operations: the cost
  is linear in the ops and in the values they write, never a copy of the document per op.
- Every value an op writes counts against the YAML reader's budget (`Limits.max_nodes`), on top
  of the stack's own values: a `copy` costs the size of what it copies (counted with an early
  exit), an `add` or `replace` the size of its value. Removed values are not given back, so the
  work done stays within the budget as well. A `copy` loop that doubles a list is refused at the
  op that crosses the budget, before anything large is built.
- Pointers are walked here first, so that a missing member, an index out of range or a step into
  a text is reported in words naming the op and its own path. The document is never quoted
  (`jsonpatch`'s own messages quote whole subtrees, secrets included).
- Secret marks travel with the values: a value from the environment is wrapped in a marker type
  that compares, copies and moves like the value it holds; the marks are read back after the
  last op, wherever the ops put the values.
- A `test` op never compares a value from the environment (nor a subtree holding one, nor a
  tested value taken from it): it is refused whether it would pass or fail, since its outcome
  would tell whether a guess written in the repository (a pull request planned through the API)
  equals the secret. A test whose target differs in size from its value fails as before: that
  outcome depends on the structure only. The check costs at most the size of the op's value.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import jsonpatch
import jsonpointer

from syncd.core.secretmarks import MARKED as _MARKED
from syncd.core.secretmarks import marked as _marked
from syncd.core.secretmarks import marks_within
from syncd.errors import PatchRefused
from syncd.manifests.model import StackPatch
from syncd.manifests.parse import Located
from syncd.manifests.yamlsafe import Path, PathPart, pointer
from syncd.settings import DEFAULT_LIMITS

REDACTED = "<redacted>"


class _Invalid(Exception):
    """Why one op cannot be applied, in words that quote only the op's own pointers.
    `role` ("path" or "from") names the pointer that `detail` quotes, if any."""

    def __init__(self, role: str | None, detail: str) -> None:
        super().__init__(detail)
        self.role = role
        self.detail = detail


# -- secret marks -------------------------------------------------------------------------------


def _children(value: Any) -> Iterable[tuple[PathPart, Any]]:
    if isinstance(value, dict):
        return list(value.items())
    if isinstance(value, list):
        return list(enumerate(value))
    return ()


def _mark_all(container: Any) -> None:
    """Mark every scalar below `container` (whose own path was marked)."""
    todo = [container]
    while todo:
        current = todo.pop()
        for key, child in _children(current):
            if isinstance(child, dict | list):
                todo.append(child)
            elif (wrapped := _marked(child)) is not None:
                current[key] = wrapped


def _mark(document: Any, path: Path) -> bool:
    """Wrap the value at `path` (or every scalar below it); False when it cannot carry a mark."""
    parent: Any = None
    current = document
    for part in path:
        child = _member(current, part) if isinstance(current, dict | list) else _MISSING
        if child is _MISSING:
            return False
        parent, current = current, child
    if isinstance(current, dict | list):
        _mark_all(current)
        return True
    wrapped = _marked(current)
    if wrapped is None or parent is None:
        return False
    if isinstance(parent, dict):
        parent[str(path[-1])] = wrapped
    else:
        parent[path[-1] if isinstance(path[-1], int) else int(path[-1])] = wrapped
    return True


_MISSING = object()


def _member(container: dict[str, Any] | list[Any], part: PathPart) -> Any:
    if isinstance(container, dict):
        return container.get(str(part), _MISSING)
    index = part if isinstance(part, int) else _index(part)
    if index is None or not 0 <= index < len(container):
        return _MISSING
    return container[index]


def _index(token: str) -> int | None:
    """An RFC 6901 array index: digits, without a leading zero."""
    if token.isdigit() and token.isascii() and (token == "0" or not token.startswith("0")):
        return int(token)
    return None


def _unmark(document: Any) -> tuple[Any, set[Path]]:
    """The document with plain values again, and the paths where marked values stand."""
    found: set[Path] = set()
    if isinstance(document, _MARKED):
        return _plain(document), {()}
    todo: list[tuple[Path, Any]] = [((), document)]
    while todo:
        path, current = todo.pop()
        for key, child in _children(current):
            if isinstance(child, _MARKED):
                current[key] = _plain(child)
                found.add((*path, key))
            elif isinstance(child, dict | list):
                todo.append(((*path, key), child))
    return document, found


def _plain(value: Any) -> Any:
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    return float(value)


# -- sizes and pointers -------------------------------------------------------------------------


def _size(value: Any, limit: int) -> int:
    """How many values `value` holds (containers count one), counting no further than `limit`+1."""
    count = 0
    todo = [value]
    while todo:
        current = todo.pop()
        count += 1
        if count > limit:
            return count
        if isinstance(current, dict):
            todo.extend(current.values())
        elif isinstance(current, list):
            todo.extend(current)
    return count


def _tokens(text: str) -> list[str]:
    if text == "":
        return []
    parts = text.split("/")[1:]
    return [p.replace("~1", "/").replace("~0", "~") for p in parts]


def _walk(document: Any, tokens: Sequence[str], role: str) -> Any:
    """The value at `tokens`, or `_Invalid` naming the first step that fails."""
    current = document
    for depth, token in enumerate(tokens):
        if isinstance(current, dict):
            if token not in current:
                raise _Invalid(role, f"{pointer(tokens[: depth + 1])} does not exist")
            current = current[token]
        elif isinstance(current, list):
            index = _index(token)
            if index is None or index >= len(current):
                raise _not_an_index(role, tokens[:depth], token, len(current))
            current = current[index]
        else:
            raise _not_a_container(role, tokens[:depth])
    return current


def _parent(document: Any, tokens: Sequence[str], role: str, *, new: bool) -> None:
    """Check that `tokens` names a member of an existing container (maybe a new one: `new`)."""
    if not tokens:
        return
    container = _walk(document, tokens[:-1], role)
    last = tokens[-1]
    if isinstance(container, dict):
        if not new and last not in container:
            raise _Invalid(role, f"{pointer(tokens)} does not exist")
    elif isinstance(container, list):
        size = len(container)
        index = size if new and last == "-" else _index(last)
        if index is None or index > size or (index == size and not new):
            raise _not_an_index(role, tokens[:-1], last, size)
    else:
        raise _not_a_container(role, tokens[:-1])


def _not_an_index(role: str, where: Sequence[str], token: str, size: int) -> _Invalid:
    here = pointer(where) or "the stack"
    return _Invalid(role, f"{token!r} is not an index of the list at {here} ({size} items)")


def _not_a_container(role: str, where: Sequence[str]) -> _Invalid:
    return _Invalid(role, f"{pointer(where) or 'the stack'} is not a mapping or a list")


# -- applying -----------------------------------------------------------------------------------


class _Budget:
    def __init__(self, limit: int, used: int) -> None:
        self.limit = limit
        self.used = used

    def spend(self, value: Any) -> None:
        self.used += _size(value, self.limit - self.used)
        if self.used > self.limit:
            raise _Invalid(
                None,
                f"the patched stack would hold more than {self.limit} values "
                "(a copy loop?); refused",
            )


def _apply_op(document: Any, raw: dict[str, Any], budget: _Budget) -> Any:
    """`document` with one op applied in place (or returned anew when the op sets the root)."""
    op = raw["op"]
    path = _tokens(raw["path"])
    if op == "test":
        _walk(document, path, "path")  # the comparison is jsonpatch's (RFC 6902 equality)
    elif op in ("move", "copy"):
        source = _tokens(raw["from"])
        value = _walk(document, source, "from")
        if op == "move" and path[: len(source)] == source and path != source:
            raise _Invalid(None, "cannot move a value into itself")
        if op == "copy":
            budget.spend(value)
        else:
            budget.spend(None)
        _parent(document, path, "path", new=True)
    elif op == "remove":
        if not path:
            raise _Invalid(None, "cannot remove the whole stack")
        _parent(document, path, "path", new=False)
        budget.spend(None)
    else:  # add, replace
        _parent(document, path, "path", new=op == "add")
        budget.spend(raw["value"])
    return jsonpatch.JsonPatch([raw]).apply(document, in_place=True)


def _describe(raw: dict[str, Any], index: int, secret: frozenset[Path]) -> str:
    def shown(name: str) -> str:
        return REDACTED if ("patch", index, name) in secret else str(raw[name])

    source = f" from {shown('from')}" if "from" in raw else ""
    return f"patch op {index} ({raw['op']} {shown('path')}{source})"


def _op(located: Located[StackPatch], index: int, marks: Sequence[Path]) -> dict[str, Any]:
    """Op `index` as jsonpatch takes it; `marks`: where its value holds values from the env."""
    raw: dict[str, Any] = located.manifest.patch[index].model_dump(
        by_alias=True, exclude_unset=True, mode="json"
    )
    if "value" in raw and marks:
        value = {"v": raw["value"]}
        for path in marks:
            _mark(value, ("v", *path))
        raw["value"] = value["v"]
    return raw


def _value_marks(located: Located[StackPatch]) -> dict[int, list[Path]]:
    """Op index -> paths inside that op's `value` that hold values from the env."""
    marks: dict[int, list[Path]] = {}
    for path in located.secrets:
        if len(path) >= 3 and path[0] == "patch" and path[2] == "value":
            marks.setdefault(int(path[1]), []).append(path[3:])
    return marks


def apply(
    body: dict[str, Any],
    secrets: Iterable[Path],
    overlays: Sequence[Located[StackPatch]],
    limit: int = DEFAULT_LIMITS.max_nodes,
) -> tuple[Any, set[Path]]:
    """`body` (the caller's copy, changed in place) with every op of `overlays` applied, and the
    paths of the values that came from the environment; or `PatchRefused` at the first op that
    fails."""
    sticky: set[Path] = set()
    for path in secrets:
        if not _mark(body, path):
            sticky.add(path)  # cannot travel: kept where it was, so no mark is ever lost
    budget = _Budget(limit, _size(body, limit))
    document: Any = body
    for overlay in overlays:
        marks = _value_marks(overlay)
        for index in range(len(overlay.manifest.patch)):
            raw = _op(overlay, index, marks.get(index, ()))
            try:
                if raw["op"] == "test" and _tests_a_secret(document, raw, sticky):
                    raise _Invalid(None, TEST_SECRET)
                document = _apply_op(document, raw, budget)
            except _Invalid as err:
                raise _refused(overlay, index, raw, err) from err
            except jsonpatch.JsonPatchTestFailed:
                # from None: jsonpatch's message quotes the tested value, which may be a secret
                failed = _Invalid(None, "the value there is not the tested value")
                raise _refused(overlay, index, raw, failed) from None
            except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException):
                # Rare, as the pointers were checked; jsonpatch's own text may quote the document.
                failed = _Invalid(None, "it cannot be applied to the stack")
                raise _refused(overlay, index, raw, failed) from None
    document, marked = _unmark(document)
    return document, marked | sticky


TEST_SECRET = (
    "a test op cannot compare a value from the environment (its outcome would tell the value); "
    "test a value written in the repository"
)


def _tests_a_secret(document: Any, raw: dict[str, Any], sticky: set[Path]) -> bool:
    """Whether a `test` op's outcome could depend on a value from the environment."""
    size, marked = marks_within(raw.get("value"), DEFAULT_LIMITS.max_nodes)
    if marked:
        return True
    tokens = _tokens(raw["path"])
    if any(
        [str(p) for p in path[: len(tokens)]] == tokens[: len(path)] for path in sticky
    ):  # a value that could not carry a mark (a boolean, a null) at, above or below the path
        return True
    try:
        target = _walk(document, tokens, "path")
    except _Invalid:
        return False  # the op fails on its path: the structure only
    found, marked = marks_within(target, size)
    return marked and found == size  # a subtree of another size can never equal the value


def _refused(
    located: Located[StackPatch], index: int, raw: dict[str, Any], err: _Invalid
) -> PatchRefused:
    secret = {p[:3] for p in located.secrets}
    detail = err.detail
    if err.role is not None and ("patch", index, err.role) in secret:
        detail = f"it does not resolve ({REDACTED})"
    reason = f"{err.role}: {detail}" if err.role else detail
    message = f"{_describe(raw, index, frozenset(secret))}: {reason}"
    return PatchRefused(located.problem(("patch", index), message))
