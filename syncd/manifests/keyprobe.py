"""Which keys of a mapping a check reads, found by running it once on an empty mapping that
records every read: a check that finds nothing in an empty mapping finds nothing in a mapping
that lacks all of those keys (what it reads further depends on values it read first, and those
are absent), so a caller may skip it there. A check that lists or iterates the mapping cannot
be probed: it is always run. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any


class _Recorder(Mapping[str, Any]):
    """An empty mapping that notes each key asked for, and whether it was listed."""

    def __init__(self) -> None:
        self.read: set[str] = set()
        self.listed = False

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return default

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return False

    def __iter__(self) -> Iterator[str]:
        self.listed = True
        return iter(())

    def __len__(self) -> int:
        self.listed = True
        return 0


def keys_read(check: Callable[[Mapping[str, Any]], list[Any]]) -> frozenset[str] | None:
    """The keys `check` reads of an empty mapping, or None when it cannot be skipped (it lists
    the mapping, or finds something in an empty one)."""
    recorder = _Recorder()
    found = check(recorder)
    if recorder.listed or found:
        return None
    return frozenset(recorder.read)


def may_find(keys: frozenset[str] | None, mapping: Mapping[str, Any]) -> bool:
    """Whether a check that reads `keys` (see `keys_read`) may find something in `mapping`."""
    return keys is None or not keys.isdisjoint(mapping)  # `any(k in mapping ...)`, at C speed
