"""The `sops` metadata of a file: the age-wrapped data keys, `lastmodified`, the encrypted MAC,
the encryption rules and the version; read from a file's `sops` map (or dotenv's flattened
`sops_…` lines) and written as sops 3.9 writes it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from syncd.sops.tree import DEFAULT_UNENCRYPTED_SUFFIX, Rules

WRITTEN_VERSION = "3.9.4"  # the sops version whose format `encrypt` writes
MAX_RECIPIENTS = 100
_RULES = ("unencrypted_suffix", "encrypted_suffix", "unencrypted_regex", "encrypted_regex")
_UNSUPPORTED = {
    "key_groups": "key groups (Shamir secret sharing)",
    "unencrypted_comment_regex": "unencrypted_comment_regex",
    "encrypted_comment_regex": "encrypted_comment_regex",
}
_OTHER_KEYS = ("pgp", "kms", "gcp_kms", "azure_kv", "hc_vault")
_FLAT = re.compile(r"(?P<name>[a-z_]+?)__list_(?P<index>[0-9]+)__map_(?P<field>[a-z_]+)")


class BadMetadata(ValueError):
    """The metadata is missing a field or has one of the wrong form (the message names it)."""


@dataclass(frozen=True)
class AgeStanza:
    recipient: str
    enc: str  # the data key, age-encrypted, armored


@dataclass(frozen=True)
class Metadata:
    age: tuple[AgeStanza, ...]
    lastmodified: str  # as written in the file
    mac: str  # ENC[...] of the MAC
    rules: Rules
    mac_only_encrypted: bool
    version: str
    others: tuple[str, ...]  # other key sources present (pgp, kms, ...), by name

    @property
    def mac_aad(self) -> str:
        """The MAC's AAD: `lastmodified` formatted as Go's time.RFC3339 (no fractions)."""
        return rfc3339(self.lastmodified)


def rfc3339(text: str) -> str:
    """`text` parsed and formatted back as Go's `time.RFC3339`; BadMetadata if not a time."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise BadMetadata("lastmodified is not a date and time") from None
    offset = when.utcoffset()
    if offset is None:
        raise BadMetadata("lastmodified has no time zone")
    base = when.strftime("%Y-%m-%dT%H:%M:%S")
    if not offset:
        return base + "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{base}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def read(raw: Any) -> Metadata:
    """The metadata from a file's `sops` map; BadMetadata names what is wrong."""
    if not isinstance(raw, dict):
        raise BadMetadata("the sops metadata is not a map")
    for key, what in _UNSUPPORTED.items():
        if raw.get(key):
            raise BadMetadata(f"{what} is not supported by syncd")
    mac = _text(raw, "mac")
    if not mac.startswith("ENC["):
        raise BadMetadata("mac is not an ENC[…] value")
    set_rules = {k: _text(raw, k, "") for k in _RULES if raw.get(k)}
    if len(set_rules) > 1:
        raise BadMetadata("more than one of " + ", ".join(_RULES) + " is set")
    rules = Rules(**set_rules) if set_rules else Rules(DEFAULT_UNENCRYPTED_SUFFIX)
    for pattern in (rules.unencrypted_regex, rules.encrypted_regex):
        _check_regex(pattern)
    return Metadata(
        age=_age(raw.get("age")),
        lastmodified=_text(raw, "lastmodified"),
        mac=mac,
        rules=rules,
        mac_only_encrypted=_flag(raw.get("mac_only_encrypted")),
        version=_text(raw, "version", ""),
        others=tuple(k for k in _OTHER_KEYS if raw.get(k)),
    )


def _text(raw: dict[str, Any], key: str, default: str | None = None) -> str:
    value = raw.get(key, default)
    if value is None:
        raise BadMetadata(f"the sops metadata has no {key}")
    if not isinstance(value, str):
        raise BadMetadata(f"{key} in the sops metadata is not text")
    return value


def _flag(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    if value in ("true", "false"):
        return bool(value == "true")
    raise BadMetadata("mac_only_encrypted is not true or false")


def _check_regex(pattern: str) -> None:
    try:
        re.compile(pattern)
    except re.error:
        raise BadMetadata("an encryption rule's regular expression is invalid") from None


def _age(raw: Any) -> tuple[AgeStanza, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > MAX_RECIPIENTS:
        raise BadMetadata(f"age is not a list of at most {MAX_RECIPIENTS} recipients")
    stanzas = []
    for item in raw:
        if not isinstance(item, dict):
            raise BadMetadata("an age entry is not a map")
        stanzas.append(AgeStanza(_text(item, "recipient"), _text(item, "enc")))
    return tuple(stanzas)


def write(
    age: list[AgeStanza],
    lastmodified: str,
    mac: str,
    rules: Rules,
    *,
    empty: Any,
    mac_only: bool = False,
) -> dict[str, Any]:
    """The `sops` map as sops 3.9 writes it; `empty` is what an unused key source shows
    (`[]` in YAML, None in JSON)."""
    out: dict[str, Any] = dict.fromkeys(("kms", "gcp_kms", "azure_kv", "hc_vault"), empty)
    out["age"] = [{"recipient": s.recipient, "enc": s.enc} for s in age]
    out["lastmodified"] = lastmodified
    out["mac"] = mac
    out["pgp"] = empty
    for key in _RULES:
        if getattr(rules, key):
            out[key] = getattr(rules, key)
    if mac_only:
        out["mac_only_encrypted"] = True
    out["version"] = WRITTEN_VERSION
    return out


def unflatten(flat: dict[str, str]) -> dict[str, Any]:
    """dotenv's `sops_…` entries (without the prefix) as the metadata map: `age__list_0__map_enc`
    is `age[0].enc`; `\\n` in a value is a newline."""
    out: dict[str, Any] = {}
    lists: dict[str, dict[int, dict[str, str]]] = {}
    for key, value in flat.items():
        text = value.replace("\\n", "\n")
        match = _FLAT.fullmatch(key)
        if match is None:
            out[key] = text
            continue
        index = int(match["index"])
        if index >= MAX_RECIPIENTS:
            raise BadMetadata(f"{key}: list index out of range")
        lists.setdefault(match["name"], {}).setdefault(index, {})[match["field"]] = text
    for name, items in lists.items():
        out[name] = [items[i] for i in sorted(items)]
    return out


def flatten(meta: dict[str, Any]) -> list[tuple[str, str]]:
    """The metadata map as dotenv's sorted `sops_…` entries (empty key sources left out)."""
    flat: dict[str, str] = {}
    for key, value in meta.items():
        if isinstance(value, list):
            for i, item in enumerate(value):
                for field, text in item.items():
                    flat[f"{key}__list_{i}__map_{field}"] = text.replace("\n", "\\n")
        elif isinstance(value, str):
            flat[key] = value.replace("\n", "\\n")
    return sorted((f"sops_{k}", v) for k, v in flat.items())
