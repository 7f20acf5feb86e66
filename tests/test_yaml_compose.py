"""Compose files are read with YAML 1.2 scalars (as docker compose's go-yaml v3 reads them);
syncd's own manifests keep YAML 1.1. Positions, limits, anchors and `<<` merges are the same."""

from __future__ import annotations

from typing import Any

import pytest

from syncd.manifests.yamlsafe import Schema, load
from syncd.problems import Position
from syncd.settings import Limits


def _value(text: str, schema: Schema) -> Any:
    docs, problems = load("compose.yaml", f"v: {text}\n".encode(), schema=schema)
    assert problems == [], problems
    return docs[0].data["v"]


@pytest.mark.parametrize(
    ("text", "compose", "native"),
    [
        ("no", "no", False),
        ("yes", "yes", True),
        ("on", "on", True),
        ("off", "off", False),
        ("y", "y", "y"),
        ("NO", "NO", False),
        ("true", True, True),
        ("True", True, True),
        ("FALSE", False, False),
        ("22:22", "22:22", 1342),  # a port mapping, not base 60
        ("1:30:00", "1:30:00", 5400),
        ("0o755", 493, "0o755"),
        ("0O17", 15, "0O17"),
        ("0755", 493, 493),  # octal, as docker compose reads `mode: 0755`
        ("-0755", -493, -493),
        ("089", 89, "089"),
        ("0", 0, 0),
        ("0x1F", 31, 31),
        ("0b101", 5, 5),
        ("1_000", 1000, 1000),
        ("+12", 12, 12),
        ("1.5", 1.5, 1.5),
        ("1e3", 1000.0, "1e3"),
        (".5", 0.5, 0.5),
        ("~", None, None),
        ("null", None, None),
        ("NULL", None, None),
        ("", None, None),
        ("2001-12-14", "2001-12-14", "2001-12-14"),
        ("0x", "0x", "0x"),
        ("0o_", "0o_", "0o_"),
        ("-x", "-x", "-x"),
        ("'no'", "no", "no"),
        ('"0755"', "0755", "0755"),
        ("!!str 12", "12", "12"),
        ("!!int 0o10", 8, None),
        ("!!bool true", True, True),
    ],
)
def test_scalars_per_schema(text: str, compose: Any, native: Any) -> None:
    assert _value(text, Schema.COMPOSE) == compose
    assert type(_value(text, Schema.COMPOSE)) is type(compose)
    if native is not None or text in ("~", "null", "NULL", ""):
        assert _value(text, Schema.YAML11) == native
        assert type(_value(text, Schema.YAML11)) is type(native)


def test_default_schema_is_yaml11() -> None:
    docs, _ = load("a.yaml", b"a: no\n")
    assert docs[0].data == {"a": False}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (b"a: !!bool yes\n", "'yes' is not a valid !!bool"),
        (b"a: !!int 12abc\n", "'12abc' is not a valid !!int"),
        (b"a: !!null x\n", "'x' is not a valid !!null"),
        (b"a: !!float 1.2.3\n", "'1.2.3' is not a valid !!float"),
        (b"a: .nan\n", "not a finite number"),
        (b"a: -.inf\n", "not a finite number"),
        (b"a: " + b"1" * 5000 + b"\n", "a number of 5000 characters is too large"),
        (b"a: 0x8000000000000000\n", "outside the 64-bit integer range"),
        (b"a: 1" + b"_0" * 40 + b"\n", "outside the 64-bit integer range"),
        (b"a: !python/name:os.system x\n", "unsupported YAML tag"),
        (b'a: "x\\0"\n', "a NUL character"),
        (b"a: *nope\n", "names no anchor"),
    ],
)
def test_compose_refusals_are_located(source: bytes, message: str) -> None:
    docs, problems = load("compose.yaml", source, schema=Schema.COMPOSE)
    assert docs == []
    assert len(problems) == 1 and message in problems[0].message
    assert problems[0].position == Position(1, 4)


MERGES = b"""\
x-logging: &logging
  driver: json-file
  options: {max-size: 10m}
x-env: &env
  TZ: UTC
  LEVEL: info
x-more: &more
  LEVEL: debug
  EXTRA: "1"
services:
  web:
    <<: [*env, *more]
    LEVEL: warn
    logging: *logging
  db:
    TZ: Europe/Berlin
    <<: *env
  worker:
    <<: [*more, *env]
"""


def test_merge_keys_in_compose_files() -> None:
    docs, problems = load("compose.yaml", MERGES, schema=Schema.COMPOSE)
    assert problems == []
    services = docs[0].data["services"]
    # an explicit key wins over merged ones, wherever it stands; in a list, the first map wins
    assert services["web"] == {
        "TZ": "UTC",
        "LEVEL": "warn",
        "EXTRA": "1",
        "logging": {"driver": "json-file", "options": {"max-size": "10m"}},
    }
    assert services["db"] == {"TZ": "Europe/Berlin", "LEVEL": "info"}
    assert services["worker"] == {"LEVEL": "debug", "EXTRA": "1", "TZ": "UTC"}
    positions = docs[0].positions
    assert positions.locate(("services", "web", "LEVEL")) == Position(13, 12)
    # a merged key is placed at the alias that brought it
    assert positions.locate(("services", "web", "EXTRA")) == Position(12, 9)
    assert positions.locate(("services", "worker", "TZ"), key=True) == Position(19, 9)


def test_merge_of_a_scalar_is_refused() -> None:
    _, problems = load("compose.yaml", b"a: &a 1\nb:\n  <<: *a\n", schema=Schema.COMPOSE)
    assert "takes a mapping or a list of mappings" in problems[0].message
    assert problems[0].position == Position(3, 7)


def test_quoted_merge_key_is_a_plain_key() -> None:
    docs, _ = load("compose.yaml", b'a: &a {x: 1}\nb: {"<<": *a}\n', schema=Schema.COMPOSE)
    assert docs[0].data["b"] == {"<<": {"x": 1}}


def test_compose_keeps_limits_and_alias_bomb_refusal() -> None:
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 12)]
    _, problems = load("compose.yaml", "\n".join(lines).encode(), schema=Schema.COMPOSE)
    assert "alias bomb" in problems[0].message
    _, problems = load("c.yaml", b"a: {b: {c: 1}}\n", Limits(max_depth=2), schema=Schema.COMPOSE)
    assert "deeper than 2 levels" in problems[0].message
    _, problems = load("c.yaml", b"a: 1\na: 2\n", schema=Schema.COMPOSE)
    assert "duplicate key 'a'" in problems[0].message


def test_keys_keep_their_text_in_compose_files() -> None:
    docs, _ = load("compose.yaml", b"on: 1\n0755: x\nno: [yes, 0o10]\n", schema=Schema.COMPOSE)
    assert docs[0].data == {"on": 1, "0755": "x", "no": ["yes", 8]}
