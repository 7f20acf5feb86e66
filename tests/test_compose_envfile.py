"""The Compose `.env` / `env_file` format: values, quotes, escapes, interpolation, taint, bounds
and located problems."""

from __future__ import annotations

import pytest

from syncd.manifests.compose.envfile import MAX_ENV_LINES, parse_env_file
from syncd.problems import Position, Severity

LOOKUP = {"OP": "from-operator", "EMPTY": "", "SYNCD_READ_TOKEN": "tok-secret"}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("A=1", {"A": "1"}),
        ("A=1\nB=2\n", {"A": "1", "B": "2"}),
        ("A = 1", {"A": "1"}),
        ("A= 1 ", {"A": "1"}),
        ("A: 1", {"A": "1"}),  # compose-go's YAML-like form
        ("A: x=y", {"A": "x=y"}),
        ("A=x:y", {"A": "x:y"}),
        ("A=", {"A": ""}),
        ("A=\nB=2", {"A": "", "B": "2"}),
        ("A=foo=bar=", {"A": "foo=bar="}),
        ("export A=1", {"A": "1"}),
        ("export\tA=1", {"A": "1"}),
        ("  export A=1", {"A": "1"}),
        ("exportA=1", {"exportA": "1"}),
        ("export_A=1", {"export_A": "1"}),
        ("A.B=1\nA-B=2\n_x=3", {"A.B": "1", "A-B": "2", "_x": "3"}),
        ("# comment\n\n  # indented\nA=1\n", {"A": "1"}),
        ("A=1 # comment", {"A": "1"}),
        ("A=1\t# comment", {"A": "1"}),
        ("A=1# not a comment", {"A": "1# not a comment"}),
        ("A=some spaced value  ", {"A": "some spaced value"}),
        ("A='1'", {"A": "1"}),
        ('A="1"', {"A": "1"}),
        ("A=''", {"A": ""}),
        ('A=""', {"A": ""}),
        ("A='b#c' # comment", {"A": "b#c"}),
        ('A="b#c" # comment', {"A": "b#c"}),
        ("A='$OP ${OP}'", {"A": "$OP ${OP}"}),  # single quotes are literal
        ("A='a\\tb'", {"A": "a\\tb"}),
        ("A='Let\\'s go!'", {"A": "Let's go!"}),
        ("A='a\\\\b'", {"A": "a\\\\b"}),
        ('A="a\\tb\\nc\\rd"', {"A": "a\tb\nc\rd"}),
        ('A="a\\\\b"', {"A": "a\\b"}),
        ('A="say \\"hi\\""', {"A": 'say "hi"'}),
        ('A="{\\"hello\\": \\"json\\"}"', {"A": '{"hello": "json"}'}),
        ('A="\\$OP"', {"A": "$OP"}),
        ('A="\\${OP}"', {"A": "${OP}"}),
        ('A="$$OP"', {"A": "$OP"}),
        ('A="keep\\q"', {"A": "keep\\q"}),
        ("A=a\\tb", {"A": "a\\tb"}),  # no escapes unquoted
        ("A=\"'d'\"", {"A": "'d'"}),
        ('A="line one\nline two\n  three"\nB=2', {"A": "line one\nline two\n  three", "B": "2"}),
        ("A='x\ny'", {"A": "x\ny"}),
        ("A=1\r\nB=2\r\n", {"A": "1", "B": "2"}),
        ("\ufeffA=1", {"A": "1"}),
        ('A=x\nB=$A-${A}\nC="[$B]"', {"A": "x", "B": "x-x", "C": "[x-x]"}),
        ("A=${NOPE:-d}", {"A": "d"}),
        ("A=${OP}", {"A": "from-operator"}),
        ("OP=file\nB=$OP", {"OP": "file", "B": "from-operator"}),  # the operator's wins
        ("OP", {"OP": "from-operator"}),  # KEY alone: from the operator's variables
        ("NOPE\nA=1", {"A": "1"}),  # ... left out when unset
        ("EMPTY", {"EMPTY": ""}),
        ("A=1\nA=2", {"A": "2"}),
    ],
)
def test_values(source: str, expected: dict[str, str]) -> None:
    env = parse_env_file(".env", source.encode(), LOOKUP)
    assert [p for p in env.problems if p.severity is Severity.ERROR] == []
    assert env.values == expected


@pytest.mark.parametrize(
    ("source", "tainted"),
    [
        ("A=1", set()),
        ("A=$OP", {"A"}),
        ("A=x${OP}x\nB=$A\nC=${A:+set}\nD=${Z:-$A}\nE=lit", {"A", "B", "C", "D"}),
        ("A='$OP'", set()),
        ('A="$OP"', {"A"}),
        ("OP", {"OP"}),
        ("A=$OP\nA=plain", set()),  # the last value counts
        ("A=${NOPE:-x}", set()),
    ],
)
def test_tainted_keys(source: str, tainted: set[str]) -> None:
    env = parse_env_file(".env", source.encode(), LOOKUP)
    assert env.tainted == tainted


@pytest.mark.parametrize(
    ("source", "position", "message"),
    [
        ("A=1\nlol$wut\n", Position(2, 4), "expected '=' after the key, found '$'"),
        ("=x", Position(1, 1), "unexpected character '='"),
        ("A=1\n  -x=1", Position(2, 3), "unexpected character '-'"),
        ("A B=1", Position(1, 3), "expected '=' after the key, found 'B'"),
        ('A="open\nB=2\n', Position(1, 3), 'the quote " opened here is never closed'),
        ("A='open", Position(1, 3), "the quote ' opened here is never closed"),
        ('A="x" y', Position(1, 7), "only a # comment may follow a closing quote"),
        ("A=${NOPE:?set it}", Position(1, 3), "NOPE is required: set it"),
        ("A=\n\nB=${", Position(3, 3), "is not closed"),
        ("A=x\x00", Position(1, 4), "a NUL character"),
    ],
)
def test_problems_are_located(source: str, position: Position, message: str) -> None:
    env = parse_env_file("stack/.env", source.encode(), LOOKUP)
    errors = [p for p in env.problems if p.severity is Severity.ERROR]
    assert len(errors) == 1, env.problems
    assert errors[0].position == position and message in errors[0].message
    assert errors[0].path == "stack/.env"


def test_every_problem_is_reported_and_good_lines_kept() -> None:
    env = parse_env_file(".env", b"A=1\n!x\nB=2\n?y\nC=3\n", LOOKUP)
    assert env.values == {"A": "1", "B": "2", "C": "3"}
    assert [p.position.line for p in env.problems] == [2, 4]


@pytest.mark.parametrize(
    ("source", "position", "message"),
    [
        ("A=$NOPE", Position(1, 3), "NOPE is not set"),
        ("A=1\nA=2", Position(2, 1), "A is set again (first at line 1)"),
        ("1A=x", Position(1, 1), "a key starting with a digit is skipped"),
        ("SYNCD_READ_TOKEN", Position(1, 1), "never readable by a manifest"),
        ("A=$SYNCD_READ_TOKEN", Position(1, 3), "never readable by a manifest"),
    ],
)
def test_warnings(source: str, position: Position, message: str) -> None:
    env = parse_env_file(".env", source.encode(), LOOKUP)
    assert [p.severity for p in env.problems] == [Severity.WARNING]
    assert env.problems[0].position == position and message in env.problems[0].message
    assert "tok-secret" not in str(env.values)


def test_values_never_show_in_problems() -> None:
    env = parse_env_file(".env", b"A=$OP\nB=${A:?x}${OP:?y}${Q:?z $OP}\n", LOOKUP)
    assert env.problems and all("from-operator" not in p.message for p in env.problems)


def test_bounds() -> None:
    env = parse_env_file(".env", b"A=" + b"x" * 300_000)
    assert "over 262144: refused" in env.problems[0].message and env.values == {}
    env = parse_env_file(".env", b"\n" * MAX_ENV_LINES)
    assert f"over {MAX_ENV_LINES}" in env.problems[0].message
    env = parse_env_file(".env", b"A=ok\nB=\xff\n")
    assert env.problems[0].position == Position(2, 3) and "UTF-8" in env.problems[0].message
    # a value cannot be multiplied without bound through earlier keys
    lines = ["A=" + "a" * 1000] + [f"K{i}=" + f"$K{i - 1}" * 4 for i in range(1, 40)]
    env = parse_env_file(".env", "\n".join(lines).replace("$K0", "$A").encode())
    assert any("too long a text" in p.message for p in env.problems)
    assert all(len(v) < 10_000_000 for v in env.values.values())


def test_hostile_nesting_is_a_located_error() -> None:
    env = parse_env_file(".env", ("A=" + "${X:-" * 5000 + "}" * 5000).encode())
    assert len(env.problems) == 1 and "nest deeper" in env.problems[0].message
