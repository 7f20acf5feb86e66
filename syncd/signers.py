"""Which commits may be applied: `--verify-commits` / `SYNCD_VERIFY_COMMITS` with the operator's
keys, `--allowed-signers FILE` (SSH keys, in git's `gpg.ssh.allowedSignersFile` format) and/or
`--gpg-keyring FILE` (OpenPGP public keys, armored or binary), and `--verify-range` (every commit
since the last applied one, not only the head). The settings only: `source.signatures` reads
the key files and runs git. Pure.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from syncd.errors import SettingsUnusable

NAMES = frozenset({"verify_commits", "allowed_signers", "gpg_keyring", "verify_range"})
_TRUE = ("1", "true", "yes")
_FALSE = ("", "0", "false", "no")


@dataclass(frozen=True)
class CommitVerification:
    """Off by default. On, a revision applies only when its head (with `range`: every commit
    since the last applied one) carries a good signature by one of the keys given."""

    enabled: bool = False
    allowed_signers: Path | None = None
    gpg_keyring: Path | None = None
    range: bool = False

    def __post_init__(self) -> None:
        given = self.allowed_signers is not None or self.gpg_keyring is not None
        if self.enabled and not given:
            raise SettingsUnusable(
                "--verify-commits needs the keys to verify with: give --allowed-signers FILE "
                "(SSH) and/or --gpg-keyring FILE (OpenPGP)"
            )
        if not self.enabled and (given or self.range):
            raise SettingsUnusable(
                "--allowed-signers, --gpg-keyring and --verify-range take effect only with "
                "--verify-commits: give it too (commits are not verified without it)"
            )

    def __str__(self) -> str:
        if not self.enabled:
            return "off"
        parts = [f"allowed-signers={self.allowed_signers}"] if self.allowed_signers else []
        parts += [f"gpg-keyring={self.gpg_keyring}"] if self.gpg_keyring else []
        parts += ["every commit since the last applied one"] if self.range else ["the head"]
        return "on: " + ", ".join(parts)


OFF = CommitVerification()


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--verify-commits",
        action="store_const",
        const="true",
        help="apply only commits signed by a key of --allowed-signers or --gpg-keyring "
        "(env: SYNCD_VERIFY_COMMITS; off)",
    )
    group.add_argument(
        "--allowed-signers",
        metavar="FILE",
        help="SSH keys allowed to sign, in git's allowed signers format "
        "(env: SYNCD_ALLOWED_SIGNERS)",
    )
    group.add_argument(
        "--gpg-keyring",
        metavar="FILE",
        help="OpenPGP public keys allowed to sign, armored or binary (env: SYNCD_GPG_KEYRING)",
    )
    group.add_argument(
        "--verify-range",
        action="store_const",
        const="true",
        help="with --verify-commits: every commit since the last applied one must be signed, "
        "not only the head (env: SYNCD_VERIFY_RANGE; off)",
    )


def _flag(get: Callable[[str, str], str], name: str) -> bool:
    value = get(name, "false").strip().lower()
    if value not in _TRUE + _FALSE:
        raise SettingsUnusable(f"{name.replace('_', '-')} {value[:20]!r} is not true or false")
    return value in _TRUE


def _path(get: Callable[[str, str], str], name: str) -> Path | None:
    value = get(name, "")
    return Path(value).absolute() if value else None


def from_layers(get: Callable[[str, str], str]) -> CommitVerification:
    """The settings from `get` (`layers.Layers.get`: flag, `SYNCD_*`, config file, default)."""
    return CommitVerification(
        enabled=_flag(get, "verify_commits"),
        allowed_signers=_path(get, "allowed_signers"),
        gpg_keyring=_path(get, "gpg_keyring"),
        range=_flag(get, "verify_range"),
    )
