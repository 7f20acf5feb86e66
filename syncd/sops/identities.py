"""age identities (private keys) and recipients, and the data key wrapped for them (armored age,
as sops stores it in `sops.age[].enc`). Keys never reach a message or a repr."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pyrage

from syncd.errors import SopsError
from syncd.sops.formats import MAX_BYTES

SECRET_PREFIX = "AGE-SECRET-KEY-1"
RECIPIENT_PREFIX = "age1"


class AgeIdentities:
    """The age identities of one key file (`AGE-SECRET-KEY-1…` lines, `#` comments), or of
    several joined with `+`. Its text never appears in an error or a repr."""

    def __init__(self, identities: Sequence[pyrage.x25519.Identity], where: str) -> None:
        self._identities = tuple(identities)
        self._where = where

    def __repr__(self) -> str:
        return f"AgeIdentities({len(self._identities)} from {self._where})"

    @property
    def where(self) -> str:
        """Where the identities came from (a key file's path), for messages."""
        return self._where

    def __add__(self, other: AgeIdentities) -> AgeIdentities:
        return AgeIdentities(self._identities + other._identities, f"{self._where}, {other._where}")

    @classmethod
    def from_file(cls, path: Path) -> AgeIdentities:
        """The identities in the key file at `path`; SopsError names the file, never a key."""
        try:
            if path.stat().st_size > MAX_BYTES:
                raise SopsError(f"{path}: the age key file is larger than {MAX_BYTES} bytes")
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            why = err.strerror if isinstance(err, OSError) and err.strerror else "not UTF-8 text"
            raise SopsError(f"{path}: cannot read the age key file: {why}") from None
        return cls.from_text(text, str(path))

    @classmethod
    def from_text(cls, text: str, where: str) -> AgeIdentities:
        """The identities in `text` (a key file's content); `where` names it in errors."""
        identities = []
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if not line.upper().startswith(SECRET_PREFIX):
                raise SopsError(f"{where}:{number}: not an age identity (AGE-SECRET-KEY-1…)")
            try:
                identities.append(pyrage.x25519.Identity.from_str(line))
            except pyrage.IdentityError:
                raise SopsError(f"{where}:{number}: a malformed age identity") from None
        if not identities:
            raise SopsError(f"{where}: no age identity (AGE-SECRET-KEY-1…) in the key file")
        return cls(identities, where)

    def recipients(self) -> tuple[str, ...]:
        """The public `age1…` recipient of each identity."""
        return tuple(str(i.to_public()) for i in self._identities)

    def unwrap(self, armored: str) -> bytes | None:
        """The data key from one `sops.age[].enc`, or None when no identity opens it."""
        try:
            return pyrage.decrypt(armored.encode(), list(self._identities))
        except (pyrage.DecryptError, ValueError, TypeError):
            return None


def recipient(text: str, where: str) -> pyrage.x25519.Recipient:
    """An `age1…` recipient; SopsError naming `where` if it is not one."""
    try:
        return pyrage.x25519.Recipient.from_str(text.strip())
    except (pyrage.RecipientError, ValueError):
        raise SopsError(f"{where}: {text.strip()[:80]!r} is not an age recipient (age1…)") from None


def wrap(data_key: bytes, recipients: Sequence[str], where: str) -> list[tuple[str, str]]:
    """(recipient, armored age ciphertext of `data_key`) for each recipient."""
    out = []
    for text in recipients:
        armored = pyrage.encrypt(data_key, [recipient(text, where)], armored=True)
        out.append((text.strip(), armored.decode()))
    return out
