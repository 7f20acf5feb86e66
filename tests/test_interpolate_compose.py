"""Interpolation in Compose files (Compose's full set, unset = "" + warning) and the bounds both
flavours share; syncd's own manifests keep their rules (tests/test_hostile_input.py & co)."""

from __future__ import annotations

import pytest

from syncd.manifests.interpolate import MAX_WARNINGS, Flavour, interpolate

ENV = {"A": "alpha", "E": "", "N": "1", "SYNCD_READ_TOKEN": "tok-secret", "long": "x" * 10}


@pytest.mark.parametrize(
    ("template", "expected", "tainted"),
    [
        ("$A", "alpha", True),
        ("${A}", "alpha", True),
        ("pre-$A-post", "pre-alpha-post", True),
        ("$A$N", "alpha1", True),
        ("$Ab", "", False),  # the name is `Ab`: unset
        ("${A}b", "alphab", True),
        ("$long", "x" * 10, True),  # names are case-sensitive, any case
        ("${U:-d}", "d", False),
        ("${E:-d}", "d", False),
        ("${A:-d}", "alpha", True),
        ("${U-d}", "d", False),
        ("${E-d}", "", True),
        ("${A:+x}", "x", True),  # the text tells that A is set
        ("${E:+x}", "", False),
        ("${U:+x}", "", False),
        ("${E+x}", "x", True),
        ("${U+x}", "", False),
        ("${A?e}", "alpha", True),
        ("${E?e}", "", True),
        ("$$", "$", False),
        ("$${A}", "${A}", False),
        ("$$A", "$A", False),
        ("a}b", "a}b", False),
        ("${U:-${A}}", "alpha", True),
        ("${U:-${V:-${W:-deep}}}", "deep", False),
        ("${U:-a${N}b}", "a1b", True),
        ("${U:-{x}}", "{x}", False),  # the first unmatched } closes: default `{x`, then `}`
        ("${U:-$$}", "$", False),
        ("${U:-}", "", False),
        ("${A:-${B:?never evaluated}}", "alpha", True),
        ("${U:-:-}", ":-", False),
        ("${SYNCD_READ_TOKEN:-no}", "no", False),  # syncd's own: unset, whatever the env holds
        ("$SYNCD_READ_TOKEN", "", False),
        ("${syncd_read_token}", "", False),
        ("", "", False),
        ("no dollar", "no dollar", False),
    ],
)
def test_compose_interpolation(template: str, expected: str, tainted: bool) -> None:
    out = interpolate({"v": template}, ENV, flavour=Flavour.COMPOSE)
    assert out.problems == []
    assert out.value == {"v": expected}
    assert (("v",) in out.secrets) is tainted
    if tainted:
        assert expected in out.values
    assert "tok-secret" not in out.values and "tok-secret" not in str(out.warnings)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("${U:?must be set}", "U is required: must be set"),
        ("${E:?}", "E is required"),
        ("${U?${A} here}", "U is required: ${A} here"),  # never interpolated: no value shown
        ("${SYNCD_READ_TOKEN:?x}", "never readable by a manifest"),
        ("$", "invalid interpolation '$'"),
        ("a $5", "invalid interpolation '$5'"),
        ("$-x", "invalid interpolation"),
        ("${}", "invalid interpolation '${}'"),
        ("${A B}", "invalid interpolation"),
        ("${A", "is not closed"),
        ("${A:-x", "is not closed"),
        ("${", "is not closed"),
        ("${A:=x}", "invalid interpolation"),
        ("${1A}", "invalid interpolation"),
    ],
)
def test_compose_interpolation_errors(template: str, message: str) -> None:
    out = interpolate({"s": {"v": template}}, ENV, flavour=Flavour.COMPOSE)
    assert len(out.problems) == 1
    path, text = out.problems[0]
    assert path == ("s", "v") and message in text
    assert "alpha" not in text and "tok-secret" not in text
    assert out.value == {"s": {"v": template}}


def test_unset_variables_are_empty_with_one_warning_each() -> None:
    data = {"a": "${U1}", "b": ["x$U1", "$U2"], "c": {"U3": "ok"}, "d": "${SYNCD_X}"}
    out = interpolate(data, ENV, flavour=Flavour.COMPOSE)
    assert out.problems == []
    assert out.value == {"a": "", "b": ["x", ""], "c": {"U3": "ok"}, "d": ""}
    assert [path for path, _ in out.warnings] == [("a",), ("b", 1), ("d",)]
    assert "U1 is not set" in out.warnings[0][1] and "empty string" in out.warnings[0][1]
    assert "never readable" in out.warnings[2][1]


def test_native_flavour_is_unchanged() -> None:
    out = interpolate({"a": "$A", "b": "${U}", "c": "${A:+x}"}, ENV)
    assert out.value["a"] == "$A"  # a bare $NAME is text in syncd's manifests
    assert [path for path, _ in out.problems] == [("b",), ("c",)]
    assert "U is not set" in out.problems[0][1]
    assert out.warnings == []


def test_warnings_are_bounded() -> None:
    data = {f"k{i}": f"$V{i}" for i in range(MAX_WARNINGS * 3)}
    out = interpolate(data, {}, flavour=Flavour.COMPOSE)
    assert len(out.warnings) == MAX_WARNINGS + 1
    assert out.warnings[-1][1] == f"and {MAX_WARNINGS * 2} more variables are not set"


@pytest.mark.parametrize("flavour", list(Flavour))
def test_a_template_cannot_multiply_a_value_without_bound(flavour: Flavour) -> None:
    env = {"BIG": "b" * 1000}
    out = interpolate({"a": "${BIG}" * 12_000}, env, flavour=flavour)
    assert len(out.problems) == 1 and "characters" in out.problems[0][1]
    # the budget is per document, over all its strings
    out = interpolate({f"k{i}": "${BIG}" * 1000 for i in range(12)}, env, flavour=flavour)
    assert len(out.problems) >= 1 and "characters" in out.problems[-1][1]
    out = interpolate({f"k{i}": "${BIG}" * 1000 for i in range(4)}, env, flavour=flavour)
    assert out.problems == []


@pytest.mark.parametrize(
    "template",
    [
        "${A:-" * 100_000 + "}" * 100_000,
        "${U:-" * 17 + "x" + "}" * 17,
        "$" * 200_001,
        "${" * 100_000,
        "${U:-" * 100_000,
    ],
)
def test_hostile_templates_are_refused(template: str) -> None:
    out = interpolate({"v": template}, ENV, flavour=Flavour.COMPOSE)
    assert len(out.problems) == 1  # a located problem, not a RecursionError


def test_many_escapes_and_variables_are_linear() -> None:
    out = interpolate({"v": "$$" * 100_000 + "$N" * 100_000}, ENV, flavour=Flavour.COMPOSE)
    assert out.problems == []
    assert out.value["v"] == "$" * 100_000 + "1" * 100_000
    nested = "${U:-" * 16 + "x" + "}" * 16
    assert interpolate({"v": nested}, {}, flavour=Flavour.COMPOSE).value == {"v": "x"}
