"""The decrypted content of a SOPS file, and the ways syncd reads it: the whole file as
`sops decrypt` prints it, the bytes a container sees, an env file's variables, one value."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from syncd.errors import SopsError
from syncd.sops import stores
from syncd.sops.formats import SopsFormat
from syncd.sops.tree import Branch
from syncd.sops.values import scalar_text


@dataclass(frozen=True)
class Opened:
    """What re-encrypting an edited file needs: the data key, the plain tree with its comments,
    and the nonce of each (AAD, value) so that an unchanged value keeps its ciphertext."""

    key: bytes
    plain: Branch
    ivs: dict[tuple[str, bytes], bytes]

    def __repr__(self) -> str:
        return "Opened(<redacted>)"


@dataclass(frozen=True)
class Decrypted:
    """The plain content of a SOPS file. Every value in it is a secret: taint it."""

    tree: Any  # dict for yaml/json/dotenv; {"data": str} for binary
    fmt: SopsFormat
    where: str
    opened: Opened = field(compare=False)

    def __repr__(self) -> str:
        return f"Decrypted({self.where}, {self.fmt}, <redacted>)"

    def text(self) -> str:
        """The plain file as `sops decrypt` prints it."""
        if self.fmt is SopsFormat.BINARY:
            return scalar_text(self.tree[stores.BINARY_KEY])
        return stores.dump(self.opened.plain, None, self.fmt)

    def raw(self) -> bytes:
        """The file content a container should see (binary: the raw data)."""
        return self.text().encode("utf-8", "surrogateescape")

    def env(self) -> dict[str, str]:
        """name -> value, for dotenv (or a flat YAML/JSON map of scalars); SopsError otherwise."""
        if not isinstance(self.tree, dict) or self.fmt is SopsFormat.BINARY:
            raise SopsError(f"{self.where}: a binary file has no variables")
        out = {}
        for name, value in self.tree.items():
            if isinstance(value, dict | list):
                raise SopsError(f"{self.where}: {name!r} is a map or a list, not a variable")
            out[name] = scalar_text(value)
        return out

    def lookup(self, key: str) -> str:
        """The scalar at `a.b` (or `a`) in the tree, as text; SopsError naming the key (never a
        value) if it is missing or not a scalar."""
        found: Any = self.tree
        parts = [key] if isinstance(found, dict) and key in found else key.split(".")
        for part in parts:
            if isinstance(found, dict) and part in found:
                found = found[part]
            elif isinstance(found, list) and part.isdigit() and int(part) < len(found):
                found = found[int(part)]
            else:
                raise SopsError(f"{self.where}: no key {key!r}")
        if isinstance(found, dict | list):
            raise SopsError(f"{self.where}: {key!r} is a map or a list, not a value")
        return scalar_text(found)
