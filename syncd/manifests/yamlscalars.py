"""What a YAML scalar means, in one of two schemas, and the error that stops a file's reading.

- `Schema.YAML11` (syncd's own manifests, unchanged): PyYAML's YAML 1.1 resolution, so `on`,
  `yes` and `no` are booleans and `22:22` is a base-60 number.
- `Schema.COMPOSE` (Compose files): the YAML 1.2 core schema as Compose reads it (go-yaml v3):
  only `true`/`false` (3 spellings each) are booleans, `yes`, `no`, `on`, `off`, `y`, `n` and
  `22:22` stay strings; `0o755`, `0x1F` and `0b101` are numbers; `_` between digits is allowed
  (`1_000`). One deliberate choice: a plain `0755` is octal (493), as `docker compose` reads it
  (go-yaml v3 keeps YAML 1.1 octals "for compatibility"), not the decimal 755 of pure YAML 1.2:
  Compose files write file modes so (`mode: 0440`), and a decimal reading would widen them.
  Digits with a leading zero that are not octal (`089`) are decimal.

Every construction is total: a value the tag cannot hold, a number too long to convert, a NUL
character are `YamlFatal` at the scalar, never a constructor's exception. Timestamps stay text in
both schemas (manifests have no date fields). Pure: no I/O.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from enum import StrEnum
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from syncd.errors import YamlFatal
from syncd.problems import Position

CORE = "tag:yaml.org,2002:"
STR = CORE + "str"
MERGE = CORE + "merge"
_NULL, _BOOL, _INT, _FLOAT, _TIMESTAMP = (
    CORE + name for name in ("null", "bool", "int", "float", "timestamp")
)
# A 64-bit integer has at most 19 digits; with sign, `0x`/`0o`/`0b`, `_` and sexagesimal `:`
# a sane number stays far below this. Longer text is refused before it is converted, so that
# neither Python's int-string limit nor a quadratic base-60 conversion is ever reached.
MAX_NUMBER_TEXT = 100
MAX_INT = 2**63 - 1


class Schema(StrEnum):
    YAML11 = "yaml-1.1"  # syncd's own manifests
    COMPOSE = "yaml-1.2"  # Compose files: YAML 1.2 core, as go-yaml v3 (docker compose) reads it


def pos(mark: Any) -> Position:
    if mark is None:
        return Position(1, 1)
    return Position(mark.line + 1, mark.column + 1)


def clip(text: str, size: int = 40) -> str:
    return text if len(text) <= size else text[:size] + "..."


_resolver = Resolver()
_constructor = SafeConstructor()
_YAML11: dict[str, Callable[[Any], Any]] = {
    _NULL: _constructor.construct_yaml_null,
    _BOOL: _constructor.construct_yaml_bool,
    _INT: _constructor.construct_yaml_int,
    _FLOAT: _constructor.construct_yaml_float,
}

# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution), with go-yaml v3's
# `_` between digits and its upper-case radix prefixes.
_NULL12 = re.compile(r"~|null|Null|NULL|")
_BOOL12 = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT12 = re.compile(
    r"[-+]?(?:0[xX]_*[0-9a-fA-F][0-9a-fA-F_]*|0[oO]_*[0-7][0-7_]*|0[bB]_*[01][01_]*|[0-9][0-9_]*)",
    re.ASCII,
)
_FLOAT12 = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
    re.ASCII,
)
_RADIX = {"x": 16, "o": 8, "b": 2}


def resolve12(value: str) -> str:
    """The YAML 1.2 tag of a plain scalar; short ones remembered (keys and values repeat)."""
    return _resolve12_short(value) if len(value) <= 64 else _resolve12_text(value)


@functools.lru_cache(maxsize=8192)
def _resolve12_short(value: str) -> str:
    return _resolve12_text(value)


def _resolve12_text(value: str) -> str:
    if _NULL12.fullmatch(value):
        return _NULL
    if value in _BOOL12:
        return _BOOL
    if value == "<<":
        return MERGE
    if _INT12.fullmatch(value):
        return _INT
    if _FLOAT12.fullmatch(value):
        return _FLOAT
    return STR


def _null12(value: str) -> None:
    if not _NULL12.fullmatch(value):
        raise ValueError(value)


def _bool12(value: str) -> bool:
    return _BOOL12[value]


def _int12(value: str) -> int:
    if not _INT12.fullmatch(value):
        raise ValueError(value)
    sign = -1 if value[0] == "-" else 1
    digits = value.lstrip("+-").replace("_", "")
    if len(digits) > 2 and digits[0] == "0" and digits[1].lower() in _RADIX:
        return sign * int(digits[2:], _RADIX[digits[1].lower()])
    if len(digits) > 1 and digits[0] == "0" and set(digits) <= set("01234567"):
        return sign * int(digits, 8)  # `0755`: octal, as docker compose reads it
    return sign * int(digits, 10)


def _float12(value: str) -> float:
    if not _FLOAT12.fullmatch(value):
        raise ValueError(value)
    text = value.replace("_", "")
    if text.lstrip("+-").lower() in (".inf", ".nan"):
        text = text.replace(".", "")  # Python spells them `inf` and `nan`
    return float(text)


_COMPOSE: dict[str, Callable[[str], Any]] = {
    _NULL: _null12,
    _BOOL: _bool12,
    _INT: _int12,
    _FLOAT: _float12,
}
_NUMBER_TAGS = {_INT, _FLOAT}
_COLLECTION_TAGS = {CORE + name for name in ("map", "seq", "set", "omap", "pairs")}


def unsupported(tag: str, node: str) -> str:
    if tag in _COLLECTION_TAGS or tag in _YAML11 or tag in (STR, _TIMESTAMP):
        return f"the tag !!{tag.removeprefix(CORE)} cannot be given to {node}"
    return f"unsupported YAML tag {clip(tag)!r}"


def _tag(event: Any, schema: Schema) -> str:
    tag: str | None = event.tag
    if schema is Schema.COMPOSE:
        if tag is None and event.implicit[0]:
            return resolve12(event.value)
        return STR if tag in (None, "!") else str(tag)
    if tag is None or tag == "!":
        return str(_resolver.resolve(yaml.ScalarNode, event.value, event.implicit))  # type: ignore[no-untyped-call]
    return str(tag)


def scalar(event: Any, schema: Schema) -> tuple[Any, str]:
    """The value of a scalar event and its resolved tag, or `YamlFatal` at the scalar."""
    text: str = event.value
    if event.tag is None and schema is Schema.COMPOSE and "\x00" not in text:
        # the usual case, without the general path's calls: an untagged scalar that is text
        tag = resolve12(text) if event.implicit[0] else STR
        if tag in (STR, MERGE):
            return text, tag
    tag = _tag(event, schema)
    if "\x00" in event.value:
        raise YamlFatal(
            pos(event.start_mark),
            "a NUL character (\\0) is not allowed: Docker cannot pass it to a container",
        )
    if tag in (STR, MERGE, _TIMESTAMP):
        return event.value, tag
    if tag not in _YAML11:
        raise YamlFatal(pos(event.start_mark), unsupported(tag, "a scalar"))
    return _construct(tag, event, schema), tag


def _construct(tag: str, event: Any, schema: Schema) -> Any:
    mark = pos(event.start_mark)
    if tag in _NUMBER_TAGS and len(event.value) > MAX_NUMBER_TEXT:
        raise YamlFatal(
            mark,
            f"a number of {len(event.value)} characters is too large "
            f"(at most {MAX_NUMBER_TEXT}); quote it to use it as text",
        )
    try:
        if schema is Schema.COMPOSE:
            value = _COMPOSE[tag](event.value)
        else:
            node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
            value = _YAML11[tag](node)
    except Exception:  # PyYAML's constructors raise KeyError, ValueError, IndexError, ...
        short = tag.removeprefix(CORE)
        # from None: the constructor's message may quote the scalar, which may be a secret
        raise YamlFatal(mark, f"{clip(event.value)!r} is not a valid !!{short}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise YamlFatal(mark, f"{clip(event.value)!r} is not a finite number")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        raise YamlFatal(
            mark,
            f"{clip(event.value)!r} is outside the 64-bit integer range; "
            "quote it to use it as text",
        )
    return value
