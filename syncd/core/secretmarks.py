"""Secret marks for `core.stackpatch`: a value from the environment wrapped in a marker type
that compares, copies and moves like the value it holds, so the marks travel with the values
through a patch's ops. Pure: no I/O.
"""

from __future__ import annotations

from typing import Any, Self


class _Kept:
    """A marked value is its own copy: jsonpatch's copies keep the mark."""

    __slots__ = ()

    def __copy__(self) -> Self:
        return self

    def __deepcopy__(self, memo: Any) -> Self:
        return self


class _SecretStr(_Kept, str):
    __slots__ = ()


class _SecretInt(_Kept, int):
    __slots__ = ()


class _SecretFloat(_Kept, float):
    __slots__ = ()


MARKED = (_SecretStr, _SecretInt, _SecretFloat)


def marked(value: Any) -> Any:
    """`value` wrapped as a secret, or None when its type cannot carry the mark (bool, null)."""
    if isinstance(value, MARKED):
        return value
    if isinstance(value, str):
        return _SecretStr(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return _SecretInt(value)
    if isinstance(value, float):
        return _SecretFloat(value)
    return None


def marks_within(value: Any, limit: int) -> tuple[int, bool]:
    """How many values `value` holds (counting no further than `limit`+1), and whether a marked
    one is among those counted."""
    count, found = 0, False
    todo = [value]
    while todo and count <= limit:
        current = todo.pop()
        count += 1
        found = found or isinstance(current, MARKED)
        if isinstance(current, dict):
            todo.extend(current.values())
        elif isinstance(current, list):
            todo.extend(current)
    return count, found
