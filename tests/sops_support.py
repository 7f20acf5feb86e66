"""Helpers of the SOPS tests: age keys made with pyrage, the fixtures' folder, a value's line."""

from __future__ import annotations

from pathlib import Path

import pyrage

from syncd.sops import AgeIdentities

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "sops"


def new_key(where: str = "test key") -> tuple[AgeIdentities, str]:
    """A fresh age identity (as a key file's text would hold it) and its recipient."""
    identity = pyrage.x25519.Identity.generate()
    text = f"# created by the test\n{identity}\n"
    return AgeIdentities.from_text(text, where), str(identity.to_public())


def key_file(folder: Path, name: str = "keys.txt") -> tuple[Path, str]:
    """A key file written in `folder` (0600) and its recipient."""
    identity = pyrage.x25519.Identity.generate()
    path = folder / name
    path.write_text(f"# public key: {identity.to_public()}\n{identity}\n")
    path.chmod(0o600)
    return path, str(identity.to_public())
