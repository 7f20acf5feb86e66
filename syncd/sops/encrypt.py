"""Encrypting a plain file into the SOPS format, as sops 3.x writes it, and re-encrypting an
edited one under its data key (an unchanged value keeps its ciphertext, as `sops edit` does)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from syncd.errors import SopsError
from syncd.sops import metadata, stores
from syncd.sops.document import DATA_KEY_BYTES, SopsDocument
from syncd.sops.formats import MAX_BYTES, SopsFormat
from syncd.sops.identities import wrap
from syncd.sops.metadata import AgeStanza
from syncd.sops.tree import DEFAULT_UNENCRYPTED_SUFFIX, Branch, Mac, Rules, TreeTooLarge, Walker
from syncd.sops.tree import aad as aad_of
from syncd.sops.values import BadValue, seal, value_bytes
from syncd.sops.view import Decrypted


def encrypt(
    plain: str,
    fmt: SopsFormat,
    recipients: Sequence[str],
    where: str,
    *,
    rules: Rules | None = None,
) -> str:
    """`plain` (a YAML, JSON or dotenv document, or any text for binary) encrypted for the age
    `recipients`, as the text of a SOPS file; SopsError (naming `where`) if it cannot be read.
    `rules` (from a `.sops.yaml` creation rule) choose the values to encrypt; default: all but
    those under a key ending in `_unencrypted`."""
    if not recipients:
        raise SopsError(f"{where}: no age recipient to encrypt for")
    data = _load(plain, fmt, where)
    key = secrets.token_bytes(DATA_KEY_BYTES)
    stanzas = [AgeStanza(r, enc) for r, enc in wrap(key, recipients, where)]
    chosen = rules or Rules(DEFAULT_UNENCRYPTED_SUFFIX)
    return _seal(data, fmt, where, key=key, stanzas=stanzas, rules=chosen, ivs={})


def reencrypt(document: SopsDocument, old: Decrypted, plain: str) -> str:
    """The edited `plain` encrypted like `document`: the same data key, recipients and rules;
    values unchanged at the same place keep their ciphertext."""
    if document.meta.others:
        raise SopsError(
            f"{document.where}: it also has {', '.join(document.meta.others)} key sources, "
            "which syncd cannot re-encrypt for: edit it with sops"
        )
    data = _load(plain, document.fmt, document.where)
    return _seal(
        data,
        document.fmt,
        document.where,
        key=old.opened.key,
        stanzas=list(document.meta.age),
        rules=document.meta.rules,
        ivs=old.opened.ivs,
        mac_only=document.meta.mac_only_encrypted,
    )


def _load(plain: str, fmt: SopsFormat, where: str) -> Branch:
    if len(plain.encode("utf-8", "surrogateescape")) > MAX_BYTES:
        raise SopsError(f"{where}: larger than {MAX_BYTES} bytes")
    try:
        return stores.load_plain(plain, fmt)
    except (stores.BadDocument, TreeTooLarge) as err:
        raise SopsError(f"{where}: {err}") from None


def _seal(
    data: Branch,
    fmt: SopsFormat,
    where: str,
    *,
    key: bytes,
    stanzas: list[AgeStanza],
    rules: Rules,
    ivs: dict[tuple[str, bytes], bytes],
    mac_only: bool = False,
) -> str:
    """`data` with each value the rules select encrypted, and the metadata with the MAC."""
    mac = Mac(mac_only)

    def leaf(value: Any, path: tuple[str, ...], encrypted: bool) -> Any:
        try:
            mac.add(value, encrypted)
            if not encrypted:
                return value
            aad = aad_of(path)
            return seal(value, key, aad, ivs.get((aad, value_bytes(value)[1])))
        except BadValue as err:
            raise SopsError(f"{where}: the value at {'.'.join(path)}: {err}") from None

    try:
        sealed = Walker(rules, leaf).branch(data)
    except TreeTooLarge as err:
        raise SopsError(f"{where}: {err}") from None
    lastmodified = metadata.now()
    meta = metadata.write(
        stanzas,
        lastmodified,
        seal(mac.hex(), key, lastmodified),
        rules,
        empty=[] if fmt is SopsFormat.YAML else None,
        mac_only=mac_only,
    )
    return stores.dump(sealed, meta, fmt)
