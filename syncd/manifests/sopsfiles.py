"""The SOPS-encrypted files of a revision, as manifests use them: sniffed by their content (no
naming convention), parsed once and decrypted once per revision read with the operator's age
identities (`--age-key-file`).

A file that is not a SOPS file is read as it is. One that is gives its decrypted values, every
one of them secret (the caller taints them); one that cannot be decrypted (no key, a wrong key,
a MAC that does not match: tampered) gives a `SopsError` naming the file and why, never a value
nor its ciphertext, and fails only what uses it. Within `secretpolicy.unknowns_allowed` (a plan
between two revisions, `validate --unset-ok`) and without identities, each value is an unknown
value derived from the file's fingerprint and the key's name (`secretpolicy.encrypted_value`):
two revisions whose file is unchanged compare equal, a re-encrypted file shows
"(encrypted value changed)". Pure: no I/O.
"""

from __future__ import annotations

import contextlib
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field

from syncd.errors import SopsError
from syncd.secretpolicy import encrypted_value, planning
from syncd.sops import AgeIdentities, Decrypted, SopsDocument, SopsFormat, format_for, is_sops
from syncd.sops import parse as parse_sops
from syncd.taint import leaves

KEY_SETTING = "--age-key-file / SOPS_AGE_KEY_FILE"
_STRUCTURED = (SopsFormat.YAML, SopsFormat.JSON)


@dataclass(frozen=True)
class Opened:
    """A SOPS file of the revision: decrypted (`plain`), or unknown here (`plain` None: a plan
    without the key)."""

    path: str
    document: SopsDocument
    plain: Decrypted | None

    @property
    def known(self) -> bool:
        return self.plain is not None

    def env(self) -> dict[str, str]:
        """name -> value (dotenv, or a flat YAML/JSON map); unknown values without the key."""
        if self.plain is None:
            return {k: self.unknown(k) for k in self.document.keys}
        return self.plain.env()

    def content(self) -> bytes:
        """The file a container sees (binary: the raw data); an unknown value without the key."""
        if self.plain is None:
            return self.unknown("").encode()
        return self.plain.raw()

    def unknown(self, key: str) -> str:
        return encrypted_value(self.document.fingerprint, key)


@dataclass
class SopsFiles:
    """The revision's SOPS files by repository path, each parsed and decrypted at most once."""

    identities: AgeIdentities | None = None
    _opened: dict[tuple[str, SopsFormat], Opened | SopsError | None] = field(default_factory=dict)

    def open(self, path: str, data: bytes, fmt: SopsFormat | None = None) -> Opened | None:
        """The SOPS file at `path` (read as `fmt`, else as its name says), or None when it is
        not one; `SopsError` when it cannot be read or decrypted."""
        fmt = fmt or format_for(path)
        key = (path, fmt)
        if key not in self._opened:
            try:
                self._opened[key] = self._open(path, data, fmt)
            except SopsError as err:
                self._opened[key] = err
        found = self._opened[key]
        if isinstance(found, SopsError):
            raise found
        return found

    def _open(self, path: str, data: bytes, fmt: SopsFormat) -> Opened | None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return None  # not a SOPS file: those are text
        if not is_sops(text, fmt):
            return None
        document = parse_sops(text, fmt, path)
        if self.identities is None:
            if planning():
                return Opened(path, document, None)
            raise SopsError(
                f"{path} is SOPS-encrypted and syncd has no age key to decrypt it ({KEY_SETTING})"
            )
        return Opened(path, document, document.decrypt(self.identities))

    def open_file(self, path: str, data: bytes) -> Opened | None:
        """A file mounted whole (a Compose secret or config): as its name says, else as sops's
        binary form (`sops -e --input-type binary`, whatever the name)."""
        found = self.open(path, data)
        if found is None and format_for(path) is not SopsFormat.BINARY:
            found = self.open(path, data, SopsFormat.BINARY)
        return found

    def open_env(self, path: str, data: bytes) -> Opened | None:
        """An env file (`env_file`, the `.env` beside a Compose file): dotenv whatever its name,
        or YAML/JSON when its name says so."""
        fmt = format_for(path)
        return self.open(path, data, fmt if fmt in _STRUCTURED else SopsFormat.DOTENV)

    def values(self) -> frozenset[str]:
        """Every decrypted value of the files opened (to scrub from every output)."""
        out: set[str] = set()
        for found in self._opened.values():
            if isinstance(found, Opened) and found.plain is not None:
                out |= _leaves(found.plain)
        return frozenset(v for v in out if v)


def _leaves(plain: Decrypted) -> set[str]:
    found = leaves(plain.tree)
    with contextlib.suppress(SopsError):  # a tree that is not one file's content
        found.add(plain.raw().decode("utf-8", "replace").strip())
    return found


def sops_ref(ref: str, manifest: str) -> tuple[str, str] | None:
    """A registry password's `{sops: path#key}` -> (repository path, key), the path relative
    to the manifest's folder; None when it leaves the repository."""
    relative, _, key = ref.partition("#")
    if relative.startswith("/"):
        return None
    path = posixpath.normpath(posixpath.join(posixpath.dirname(manifest), relative))
    return None if path == ".." or path.startswith("../") else (path, key)


def ref_problem(ref: str, manifest: str, revision: Mapping[str, bytes]) -> str | None:
    """Why `{sops: ref}` of the manifest at `manifest` cannot give a password, or None: the file
    must be a SOPS file of the revision holding the key. Checked without decrypting: a key that
    does not open it fails the pulls that need the password, not every stack."""
    found = sops_ref(ref, manifest)
    if found is None:
        return f"{ref.partition('#')[0]!r} leaves the repository: give a path relative to this file"
    path, key = found
    data = revision.get(path)
    if data is None:
        return f"{path} is not a file of the revision"
    fmt = format_for(path)
    text = data.decode("utf-8", "replace")
    if not is_sops(text, fmt):
        return f"{path} is not a SOPS-encrypted file"
    try:
        document = parse_sops(text, fmt, path)
    except SopsError as err:
        return str(err)
    if key.split(".", 1)[0] not in document.keys:
        return f"{path} has no key {key!r}"
    return None


def is_sops_yaml(data: bytes) -> bool:
    """Whether a YAML file of the repository is SOPS-encrypted: data (a password's source),
    never a manifest, wherever it lies."""
    try:
        return is_sops(data.decode("utf-8"), SopsFormat.YAML)
    except UnicodeDecodeError:
        return False
