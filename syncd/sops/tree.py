"""The document tree as sops walks it, and which of its values are encrypted.

A branch is an ordered list of `(key, value)` items (a `Comment` key holds a comment line); a
list holds values; a leaf is a str, int, float, bool, bytes, None or `Comment`. Each leaf's path
is the keys above it (list indexes are not part of it), and its AAD is the path joined with `:`
plus `:`. The MAC is SHA-512 over the leaves' bytes in document order (comments and nulls
excluded; with `mac_only_encrypted`, only encrypted leaves after a fixed prefix).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from syncd.sops.formats import MAX_DEPTH, MAX_VALUES
from syncd.sops.values import Comment, value_bytes

Leaf = Callable[[Any, tuple[str, ...], bool], Any]  # (value, path, encrypted) -> new value

# sha256(b"sops"): the MAC of a `mac_only_encrypted` file starts from these bytes (sops.go)
MAC_ONLY_ENCRYPTED_INIT = hashlib.sha256(b"sops").digest()
DEFAULT_UNENCRYPTED_SUFFIX = "_unencrypted"


class Branch(list[tuple[Any, Any]]):
    """A mapping as sops keeps it: ordered `(str | Comment, value)` items."""


class TreeTooLarge(ValueError):
    """The tree is deeper than `MAX_DEPTH` or has more than `MAX_VALUES` leaves."""


@dataclass(frozen=True)
class Rules:
    """Which values are encrypted: at most one of the four is set (none: the default suffix)."""

    unencrypted_suffix: str = ""
    encrypted_suffix: str = ""
    unencrypted_regex: str = ""
    encrypted_regex: str = ""

    def encrypted(self, path: tuple[str, ...]) -> bool:
        """sops's `shouldBeEncrypted` without the comment regexes (refused when reading)."""
        result = True
        if self.unencrypted_suffix and any(p.endswith(self.unencrypted_suffix) for p in path):
            result = False
        if self.encrypted_suffix:
            result = any(p.endswith(self.encrypted_suffix) for p in path)
        if self.unencrypted_regex and any(re.search(self.unencrypted_regex, p) for p in path):
            result = False
        if self.encrypted_regex:
            result = any(re.search(self.encrypted_regex, p) for p in path)
        return result


def aad(path: tuple[str, ...]) -> str:
    return ":".join(path) + ":"


class Walker:
    """One walk over a tree, calling `leaf` on each leaf with its path and whether it is
    encrypted, and building the new tree from the answers; counts leaves and depth."""

    def __init__(self, rules: Rules, leaf: Leaf) -> None:
        self.rules = rules
        self.leaf = leaf
        self.count = 0

    def branch(self, items: Branch, path: tuple[str, ...] = (), depth: int = 0) -> Branch:
        self._enter(depth)
        out = Branch()
        for key, value in items:
            if isinstance(key, Comment):
                done = self._leaf(key, path)  # an encrypted comment comes back as its ENC text
                out.append((done if isinstance(done, Comment) else Comment(done), None))
            else:
                out.append((key, self.value(value, (*path, key), depth + 1)))
        return out

    def value(self, value: Any, path: tuple[str, ...], depth: int) -> Any:
        if isinstance(value, Branch):
            return self.branch(value, path, depth)
        if isinstance(value, list):
            self._enter(depth)
            return [self.value(item, path, depth + 1) for item in value]
        if value is None:
            return None
        return self._leaf(value, path)

    def _leaf(self, value: Any, path: tuple[str, ...]) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise TreeTooLarge(f"more than {MAX_VALUES} values")
        return self.leaf(value, path, self.rules.encrypted(path))

    @staticmethod
    def _enter(depth: int) -> None:
        if depth > MAX_DEPTH:
            raise TreeTooLarge(f"nested deeper than {MAX_DEPTH}")


class Mac:
    """The running SHA-512 of a tree's plain values, as sops computes it."""

    def __init__(self, only_encrypted: bool) -> None:
        self.only_encrypted = only_encrypted
        self._hash = hashlib.sha512()
        if only_encrypted:
            self._hash.update(MAC_ONLY_ENCRYPTED_INIT)

    def add(self, plain: Any, encrypted: bool) -> None:
        if isinstance(plain, Comment) or (self.only_encrypted and not encrypted):
            return
        self._hash.update(value_bytes(plain)[1])

    def hex(self) -> str:
        return self._hash.hexdigest().upper()


def to_branch(mapping: dict[str, Any]) -> Branch:
    """A parsed YAML/JSON mapping as a branch (nested mappings too); TreeTooLarge past
    `MAX_DEPTH` or `MAX_VALUES` (counted as it is copied: YAML aliases may repeat one node
    without bound)."""
    count = [0]

    def node(value: Any, depth: int) -> Any:
        count[0] += 1
        if count[0] > MAX_VALUES:
            raise TreeTooLarge(f"more than {MAX_VALUES} values")
        Walker._enter(depth)
        if isinstance(value, dict):
            return Branch((k, node(v, depth + 1)) for k, v in value.items())
        if isinstance(value, list):
            return [node(item, depth + 1) for item in value]
        return value

    result: Branch = node(mapping, 0)
    return result


def to_plain(node: Any) -> Any:
    """A branch as dicts and lists, without comments: the tree callers see."""
    if isinstance(node, Branch):
        return {k: to_plain(v) for k, v in node if not isinstance(k, Comment)}
    if isinstance(node, list):
        return [to_plain(item) for item in node if not isinstance(item, Comment)]
    return node
