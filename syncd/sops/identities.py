"""age identities (private keys) and recipients, and the data key wrapped for them (armored age,
as sops stores it in `sops.age[].enc`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class AgeIdentities:
    """The age identities of one key file (`AGE-SECRET-KEY-1…` lines, `#` comments), or of
    several joined. Its text never appears in an error or a repr."""

    @classmethod
    def from_file(cls, path: Path) -> AgeIdentities:
        """The identities in the key file at `path`; SopsError names the file, never a key."""
        raise NotImplementedError

    @classmethod
    def from_text(cls, text: str, where: str) -> AgeIdentities:
        """The identities in `text` (a key file's content); `where` names it in errors."""
        raise NotImplementedError

    def recipients(self) -> tuple[str, ...]:
        """The public `age1…` recipient of each identity."""
        raise NotImplementedError


def wrap(data_key: bytes, recipients: Sequence[str]) -> list[tuple[str, str]]:
    """(recipient, armored age ciphertext of `data_key`) for each recipient."""
    raise NotImplementedError
