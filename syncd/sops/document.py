"""A parsed SOPS file (readable without a key) and its decrypted content.

`parse` checks everything that can be checked without the key: the format, the metadata, the
bounds, and that each value the rules encrypt is a well-formed ENC string. `decrypt` unwraps the
data key with an age identity, decrypts each value (its key path is the AAD: a value moved to
another key does not decrypt) and verifies the MAC over all values (a changed, dropped, added or
reordered value is refused)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from syncd.errors import SopsDecryptError, SopsError
from syncd.sops import stores
from syncd.sops.formats import MAX_BYTES, SopsFormat
from syncd.sops.identities import AgeIdentities
from syncd.sops.metadata import BadMetadata, Metadata, read, rfc3339
from syncd.sops.tree import Branch, Mac, TreeTooLarge, Walker, aad, to_plain
from syncd.sops.values import (
    BadValue,
    Comment,
    is_enc,
    open_sealed,
    scalar_text,
    unpack,
    value_bytes,
)
from syncd.sops.view import Decrypted, Opened

DATA_KEY_BYTES = 32
_SNIFF = {
    SopsFormat.YAML: (r"(?m)^sops:", r"(?m)^\s+mac:", r"(?m)^\s+version:"),
    SopsFormat.JSON: (r'"sops"\s*:', r'"mac"\s*:', r'"version"\s*:'),
    SopsFormat.BINARY: (r'"sops"\s*:', r'"mac"\s*:', r'"version"\s*:'),
    SopsFormat.DOTENV: (r"(?m)^sops_mac=", r"(?m)^sops_version="),
}


@dataclass(frozen=True)
class SopsDocument:
    """A SOPS file as read without a key: where it is, its format, recipients and top-level keys,
    and a fingerprint of its encrypted content."""

    where: str
    fmt: SopsFormat
    fingerprint: str  # sha256 hex of the MAC's ENC[...] text and lastmodified; no plaintext
    recipients: tuple[str, ...]  # age recipients
    keys: tuple[str, ...]  # top-level keys (dotenv names)
    data: Branch = field(repr=False, compare=False)
    meta: Metadata = field(repr=False, compare=False)

    def decrypt(self, identities: AgeIdentities) -> Decrypted:
        """The plain content; SopsDecryptError (naming the file) when no identity opens the data
        key, the MAC does not match (tampered), or a value is malformed."""
        key = self._data_key(identities)
        mac = Mac(self.meta.mac_only_encrypted)
        ivs: dict[tuple[str, bytes], bytes] = {}

        def leaf(value: Any, path: tuple[str, ...], encrypted: bool) -> Any:
            plain = self._open(value, path, encrypted, key, ivs)
            mac.add(plain, encrypted)
            return plain

        plain = Walker(self.meta.rules, leaf).branch(self.data)
        try:
            stored = open_sealed(unpack(self.meta.mac), key, self.meta.mac_aad)
        except BadValue as err:
            raise SopsDecryptError(f"{self.where}: the MAC {err}") from None
        if stored != mac.hex():
            raise SopsDecryptError(
                f"{self.where}: MAC mismatch: the file was changed after it was encrypted "
                "(tampered, or edited without sops)"
            )
        opened = Opened(key, plain, ivs)
        return Decrypted(tree=_tree(plain, self.fmt), fmt=self.fmt, where=self.where, opened=opened)

    def _data_key(self, identities: AgeIdentities) -> bytes:
        if not self.meta.age:
            held = ", ".join(self.meta.others) or "no key source"
            raise SopsDecryptError(
                f"{self.where}: no age recipient: its data key is wrapped only for {held}; "
                "syncd decrypts with age keys"
            )
        for stanza in self.meta.age:
            key = identities.unwrap(stanza.enc)
            if key is not None:
                if len(key) != DATA_KEY_BYTES:
                    raise SopsDecryptError(
                        f"{self.where}: the data key is not {DATA_KEY_BYTES} bytes"
                    )
                return key
        raise SopsDecryptError(
            f"{self.where}: no age key in {identities.where} opens it (its recipients: "
            f"{', '.join(self.recipients)})"
        )

    def _open(
        self,
        value: Any,
        path: tuple[str, ...],
        encrypted: bool,
        key: bytes,
        ivs: dict[tuple[str, bytes], bytes],
    ) -> Any:
        text = value.text if isinstance(value, Comment) else value
        if not encrypted or not is_enc(text):
            return value
        sealed = unpack(text)  # checked by parse
        try:
            plain = open_sealed(sealed, key, aad(path))
        except BadValue as err:
            if isinstance(value, Comment):
                return value  # sops keeps a comment that does not decrypt as it is
            raise SopsDecryptError(f"{self.where}: the value at {_named(path)} {err}") from None
        ivs[(aad(path), value_bytes(plain)[1])] = sealed.iv
        return plain


def is_sops(text: str, fmt: SopsFormat) -> bool:
    """Cheap sniff: whether `text` carries sops metadata (a MAC and a version)."""
    return all(re.search(pattern, text) for pattern in _SNIFF[fmt])


def parse(text: str, fmt: SopsFormat, where: str) -> SopsDocument:
    """Read a SOPS file without its key; SopsError names `where` and why, never ciphertext."""
    if len(text.encode("utf-8", "surrogateescape")) > MAX_BYTES:
        raise SopsError(f"{where}: larger than {MAX_BYTES} bytes")
    try:
        data, raw_meta = stores.load(text, fmt)
        if raw_meta is None:
            raise SopsError(f"{where}: not a SOPS file (no sops metadata)")
        meta = read(raw_meta)
        rfc3339(meta.lastmodified)
        unpack(meta.mac)
        _check(data, meta, fmt, where)
    except (stores.BadDocument, BadMetadata, TreeTooLarge) as err:
        raise SopsError(f"{where}: {err}") from None
    except BadValue as err:
        raise SopsError(f"{where}: the MAC is {err}") from None
    digest = hashlib.sha256(f"{meta.mac}\n{meta.lastmodified}".encode()).hexdigest()
    return SopsDocument(
        where=where,
        fmt=fmt,
        fingerprint=digest,
        recipients=tuple(s.recipient for s in meta.age),
        keys=tuple(k for k, _ in data if isinstance(k, str)),
        data=data,
        meta=meta,
    )


def _check(data: Branch, meta: Metadata, fmt: SopsFormat, where: str) -> None:
    """Every value the rules encrypt is empty or a well-formed ENC string."""
    if fmt is SopsFormat.BINARY and [k for k, _ in data] != [stores.BINARY_KEY]:
        raise SopsError(f"{where}: a binary SOPS file holds only `data`")

    def leaf(value: Any, path: tuple[str, ...], encrypted: bool) -> Any:
        if not encrypted or isinstance(value, Comment) or value == "":
            return value
        if not isinstance(value, str):
            raise SopsError(f"{where}: the value at {_named(path)} is not encrypted")
        try:
            unpack(value)
        except BadValue as err:
            raise SopsError(f"{where}: the value at {_named(path)} is {err}") from None
        return value

    Walker(meta.rules, leaf).branch(data)


def _named(path: tuple[str, ...]) -> str:
    return ".".join(path) or "(top)"


def _tree(plain: Branch, fmt: SopsFormat) -> Any:
    tree = to_plain(plain)
    if fmt is SopsFormat.BINARY:
        return {stores.BINARY_KEY: scalar_text(tree[stores.BINARY_KEY])}
    return tree
