"""One SOPS value: `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`, its AES-256-GCM encryption under
the data key (AAD: the value's key path, or `lastmodified` for the MAC), and the text form of
each scalar type as sops writes it (Go's `strconv`): `True`/`False` in the ciphertext and the MAC,
floats without exponent or trailing zeros."""

from __future__ import annotations

import base64
import binascii
import math
import re
import secrets
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

IV_BYTES = 32  # sops uses a 256-bit GCM nonce
TAG_BYTES = 16
_B64 = r"[A-Za-z0-9+/]*={0,2}"
_ENC = re.compile(
    rf"ENC\[AES256_GCM,data:(?P<data>{_B64}),iv:(?P<iv>{_B64}),tag:(?P<tag>{_B64}),"
    r"type:(?P<type>[a-z]+)\]"
)
_INT = re.compile(r"[+-]?[0-9]+")
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


class ValueType(StrEnum):
    STR = "str"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    BYTES = "bytes"
    COMMENT = "comment"


class BadValue(ValueError):
    """A value is not a well-formed ENC string, or does not decrypt; the message holds neither
    ciphertext nor plaintext (the caller adds the file and the key path)."""


@dataclass(frozen=True)
class Comment:
    """A comment line of the document (dotenv `#…`): encrypted like a value, not in the MAC."""

    text: str


@dataclass(frozen=True)
class Sealed:
    """The parts of one ENC string, decoded."""

    data: bytes
    iv: bytes
    tag: bytes
    type: ValueType


def is_enc(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("ENC[")


def unpack(text: str) -> Sealed:
    """The parts of an ENC string; BadValue if it is malformed."""
    match = _ENC.fullmatch(text)
    if match is None:
        raise BadValue("not a well-formed ENC[AES256_GCM,…] value")
    try:
        kind = ValueType(match["type"])
    except ValueError:
        raise BadValue("unknown value type in ENC[…]") from None
    try:
        data, iv, tag = (base64.b64decode(match[k], validate=True) for k in ("data", "iv", "tag"))
    except (binascii.Error, ValueError):
        raise BadValue("malformed base64 in ENC[…]") from None
    if not 8 <= len(iv) <= 128 or len(tag) != TAG_BYTES:
        raise BadValue("bad IV or tag length in ENC[…]")
    return Sealed(data, iv, tag, kind)


def open_sealed(sealed: Sealed, key: bytes, aad: str) -> Any:
    """The plain value of `sealed` (typed: str, int, float, bool, bytes or Comment)."""
    try:
        plain = AESGCM(key).decrypt(sealed.iv, sealed.data + sealed.tag, aad.encode())
    except InvalidTag:
        raise BadValue("does not decrypt (tampered, moved, or another data key)") from None
    return typed(plain, sealed.type)


def typed(plain: bytes, kind: ValueType) -> Any:
    """A decrypted value's bytes as its type, as sops reads them."""
    if kind is ValueType.BYTES:
        return plain
    text = plain.decode("utf-8", "surrogateescape")  # sops's strings are bytes
    match kind:
        case ValueType.STR:
            return text
        case ValueType.COMMENT:
            return Comment(text)
        case ValueType.INT:
            if not _INT.fullmatch(text):
                raise BadValue("is not an integer")
            return int(text)
        case ValueType.FLOAT:
            try:
                return float(text)
            except ValueError:
                raise BadValue("is not a number") from None
        case ValueType.BOOL:
            if text not in _TRUE | _FALSE:
                raise BadValue("is not a boolean")
            return text in _TRUE


def seal(value: Any, key: bytes, aad: str, iv: bytes | None = None) -> str:
    """`value` encrypted as an ENC string (`iv` reuses a nonce: same value, same text); an
    empty value stays empty, as sops leaves it."""
    kind, plain = value_bytes(value)
    if not plain:
        return ""
    nonce = iv if iv is not None else secrets.token_bytes(IV_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plain, aad.encode())
    data, tag = sealed[:-TAG_BYTES], sealed[-TAG_BYTES:]
    parts = (base64.b64encode(p).decode() for p in (data, nonce, tag))
    return "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{}]".format(*parts, kind)


def value_bytes(value: Any) -> tuple[ValueType, bytes]:
    """The type tag and the bytes sops encrypts (and hashes into the MAC) for a value."""
    if isinstance(value, Comment):
        return ValueType.COMMENT, value.text.encode()
    if isinstance(value, bool):
        return ValueType.BOOL, b"True" if value else b"False"
    if isinstance(value, int):
        return ValueType.INT, str(value).encode()
    if isinstance(value, float):
        return ValueType.FLOAT, go_float(value).encode()
    if isinstance(value, bytes):
        return ValueType.BYTES, value
    if isinstance(value, str):
        return ValueType.STR, value.encode("utf-8", "surrogateescape")
    raise BadValue(f"a {type(value).__name__} cannot be encrypted")


def go_float(value: float) -> str:
    """`strconv.FormatFloat(v, 'f', -1, 64)`: the shortest digits, never an exponent."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    text = format(Decimal(repr(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def scalar_text(value: Any) -> str:
    """A plain scalar as text for an environment variable or a file (`true`, `1.5`, ``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return str(value)
