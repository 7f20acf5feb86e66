"""Encrypting a plain file into the SOPS format, as sops 3.x writes it."""

from __future__ import annotations

from collections.abc import Sequence

from syncd.sops.formats import SopsFormat


def encrypt(plain: str, fmt: SopsFormat, recipients: Sequence[str], where: str) -> str:
    """`plain` (a YAML, JSON or dotenv document, or any text for binary) encrypted for the age
    `recipients`, as the text of a SOPS file; SopsError (naming `where`) if it cannot be read."""
    raise NotImplementedError
