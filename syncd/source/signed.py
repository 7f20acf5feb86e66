"""A commit's signature as git reports it (`git log --format=LOG_FORMAT`), judged. Only a good
signature (`%G?` = `G`) by one of the operator's keys counts. Pure: parses strings.

What git's `%G?` says, and what syncd makes of it:
- `G` good: SSH, by a key of `--allowed-signers` (its principal is `%GS`); OpenPGP, by a key of
  `--gpg-keyring` (syncd's own GnuPG home holds only those keys and trusts each of them: the
  keyring is the trust list, so git's `U`, "good but untrusted", does not occur for them).
- `U` good but untrusted: for SSH, a valid signature by a key not in `--allowed-signers`.
- `E` cannot be checked: an OpenPGP key not in `--gpg-keyring`.
- `B` bad (the commit changed after it was signed), `X` expired signature, `Y` expired key,
  `R` revoked key, `N` no signature.
Everything but `G` is refused, and so is a `G` that names no signer.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from syncd.source.commits import MAX_AUTHOR, clean_text

# sha, verdict, key id, key fingerprint, signer (SSH principal or OpenPGP user id), author
LOG_FORMAT = f"%H%x00%G?%x00%GK%x00%GF%x00%GS%x00%<({MAX_AUTHOR},trunc)%an"
MAX_SIGNER = 200


class Refusal(StrEnum):
    """Why a commit was refused (the metric's label, the status's reason)."""

    UNSIGNED = "unsigned"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    REVOKED = "revoked"
    UNVERIFIABLE = "unverifiable"
    TOO_MANY_COMMITS = "too_many_commits"


class SignatureKind(StrEnum):
    SSH = "ssh"
    OPENPGP = "openpgp"


@dataclass(frozen=True)
class Signer:
    """Who signed an applied revision: the key's fingerprint and the principal (SSH, from
    `--allowed-signers`) or user id (OpenPGP, from `--gpg-keyring`) the operator gave it."""

    kind: SignatureKind
    fingerprint: str
    principal: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "fingerprint": self.fingerprint,
            "principal": self.principal,
        }


@dataclass(frozen=True)
class Check:
    """One commit, judged: its signer, or why it is refused."""

    revision: str
    author: str
    signer: Signer | None
    refusal: Refusal | None = None
    why: str = ""

    @property
    def message(self) -> str:
        """`commit 3f2c1a9b0d4e by Alice: no signature` (for a refused commit)."""
        return f"commit {self.revision[:12]} by {self.author or '(no author)'}: {self.why}"


def _kind(key: str) -> SignatureKind:
    return SignatureKind.SSH if key.startswith("SHA256:") else SignatureKind.OPENPGP


def _unknown(key: str) -> tuple[Refusal, str]:
    if _kind(key) is SignatureKind.SSH:
        return Refusal.UNKNOWN_KEY, f"signed by a key not in --allowed-signers ({key})"
    if key:
        return Refusal.UNKNOWN_KEY, f"signed by an OpenPGP key not in --gpg-keyring ({key})"
    return Refusal.UNVERIFIABLE, "its signature cannot be checked"


def _refusal(code: str, key: str) -> tuple[Refusal, str]:
    match code:
        case "N":
            return Refusal.UNSIGNED, "no signature"
        case "U" | "E":
            return _unknown(key)
        case "B":
            return Refusal.BAD_SIGNATURE, "bad signature (the commit differs from what was signed)"
        case "X":
            return Refusal.EXPIRED, f"the signature has expired ({key})"
        case "Y":
            return Refusal.EXPIRED, f"signed by an expired key ({key})"
        case "R":
            return Refusal.REVOKED, f"signed by a revoked key ({key})"
    return Refusal.UNVERIFIABLE, f"its signature cannot be checked (git says {code[:2]!r})"


def judge(line: str) -> Check | None:
    """One line of `git log --format=LOG_FORMAT` as a `Check` (None: not that shape)."""
    fields = line.split("\x00")
    if len(fields) != 6 or len(fields[0]) not in (40, 64):
        return None
    revision, code, key_id, fingerprint, signer, author = fields
    key = clean_text(fingerprint or key_id, MAX_SIGNER)
    author = clean_text(author, MAX_AUTHOR)
    principal = clean_text(signer, MAX_SIGNER)
    if code == "G" and principal and key:
        return Check(revision, author, Signer(_kind(key), key, principal))
    refusal, why = _refusal(code, key) if code != "G" else _unknown(key)
    return Check(revision, author, None, refusal, why)
