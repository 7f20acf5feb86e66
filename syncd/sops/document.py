"""A parsed SOPS file (readable without a key) and its decrypted content."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from syncd.sops.formats import SopsFormat
from syncd.sops.identities import AgeIdentities


@dataclass(frozen=True)
class Decrypted:
    """The plain content of a SOPS file. Every value in it is a secret: taint it."""

    tree: Any  # dict for yaml/json/dotenv; {"data": str} for binary
    fmt: SopsFormat
    where: str

    def text(self) -> str:
        """The plain file as `sops decrypt` prints it."""
        raise NotImplementedError

    def raw(self) -> bytes:
        """The file content a container should see (binary: the raw data)."""
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        """name -> value, for dotenv (or a flat YAML/JSON map of scalars); SopsError otherwise."""
        raise NotImplementedError

    def lookup(self, key: str) -> str:
        """The scalar at `a.b` (or `a`) in the tree, as text; SopsError naming the key (never a
        value) if it is missing or not a scalar."""
        raise NotImplementedError


@dataclass(frozen=True)
class SopsDocument:
    """A SOPS file as read without a key: where it is, its format, recipients and top-level keys,
    and a fingerprint of its encrypted content."""

    where: str
    fmt: SopsFormat
    fingerprint: str  # sha256 hex of the MAC's ENC[...] text and lastmodified; no plaintext
    recipients: tuple[str, ...]  # age recipients
    keys: tuple[str, ...]  # top-level keys (dotenv names)

    def decrypt(self, identities: AgeIdentities) -> Decrypted:
        """The plain content; SopsDecryptError (naming the file) when no identity opens the data
        key, the MAC does not match (tampered), or a value is malformed."""
        raise NotImplementedError


def is_sops(text: str, fmt: SopsFormat) -> bool:
    """Cheap sniff: whether `text` carries sops metadata (a MAC and a version)."""
    raise NotImplementedError


def parse(text: str, fmt: SopsFormat, where: str) -> SopsDocument:
    """Read a SOPS file without its key; SopsError names `where` and why, never ciphertext."""
    raise NotImplementedError
