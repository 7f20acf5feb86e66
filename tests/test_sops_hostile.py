"""Hostile and malformed SOPS input gives a SopsError naming the file and why -- never an
exception trace, a hang or unbounded work: the size, depth and value-count bounds, malformed ENC
values and metadata, alias bombs, key files; and random input (hypothesis)."""

from __future__ import annotations

import contextlib
import json
import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncd.errors import SopsError
from syncd.sops import AgeIdentities, SopsFormat, encrypt, parse
from syncd.sops.formats import MAX_BYTES, MAX_DEPTH, MAX_VALUES
from tests.sops_support import FIXTURES, new_key

IDS, RECIPIENT = new_key()
GOOD = encrypt("a: 1\nb: [x, y]\nc: {d: e}\n", SopsFormat.YAML, [RECIPIENT], "s.yaml")


def _refused(text: str, match: str, fmt: SopsFormat = SopsFormat.YAML) -> None:
    with pytest.raises(SopsError, match=match) as err:
        parse(text, fmt, "in.yaml").decrypt(IDS)
    assert str(err.value).startswith("in.yaml")


def test_a_file_over_the_size_bound_is_refused() -> None:
    _refused("a: " + "x" * MAX_BYTES + "\n", "larger than 1048576 bytes")
    with pytest.raises(SopsError, match="larger than"):
        encrypt("x" * (MAX_BYTES + 1), SopsFormat.BINARY, [RECIPIENT], "big")


def test_a_tree_deeper_than_the_bound_is_refused() -> None:
    deep = "[" * (MAX_DEPTH + 2) + "]" * (MAX_DEPTH + 2)
    with pytest.raises(SopsError, match=f"nested deeper than {MAX_DEPTH}"):
        encrypt(f"a: {deep}\n", SopsFormat.YAML, [RECIPIENT], "deep.yaml")
    with pytest.raises(SopsError, match="nested"):
        parse('{"a": ' + "[" * 200_000 + "]" * 200_000 + "}", SopsFormat.JSON, "deep.json")
    with pytest.raises(SopsError, match="nested"):
        parse("a: " + "[" * 100_000 + "]" * 100_000 + "\n", SopsFormat.YAML, "deep.yaml")


def test_more_values_than_the_bound_are_refused() -> None:
    many = "".join(f"K{i}=v\n" for i in range(MAX_VALUES + 1))
    with pytest.raises(SopsError, match=f"more than {MAX_VALUES} values"):
        encrypt(many, SopsFormat.DOTENV, [RECIPIENT], "many.env")


def test_an_alias_bomb_stops_at_the_value_bound_quickly() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefghij":
        previous = chr(ord(level) - 1)
        bomb += f"{level}: &{level} [" + ", ".join([f"*{previous}"] * 10) + "]\n"
    start = time.monotonic()
    with pytest.raises(SopsError, match="more than 10000 values"):
        encrypt(bomb, SopsFormat.YAML, [RECIPIENT], "bomb.yaml")
    assert time.monotonic() - start < 5
    with pytest.raises(SopsError, match=r"loop\.yaml: line 1, column 4: .*recursive"):
        encrypt("a: &a [*a]\n", SopsFormat.YAML, [RECIPIENT], "loop.yaml")


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (("data:", "data:!!"), "not a well-formed ENC"),
        (("type:int", "type:pickle"), "unknown value type"),
        ((",tag:", ",tag:AAAA"), "bad IV or tag length"),
        (("data:", "data:A"), "malformed base64"),
    ],
)
def test_a_malformed_enc_value_is_refused_at_parse(change: tuple[str, str], why: str) -> None:
    line = next(ln for ln in GOOD.splitlines() if ln.startswith("a: ENC["))
    with pytest.raises(SopsError, match=f"in.yaml: the value at a is {why}") as err:
        parse(GOOD.replace(line, line.replace(*change, 1)), SopsFormat.YAML, "in.yaml")
    assert "data:" not in str(err.value) and "iv:" not in str(err.value)  # no ciphertext


def test_a_clear_value_where_an_encrypted_one_belongs_is_refused() -> None:
    line = next(ln for ln in GOOD.splitlines() if ln.startswith("a: ENC["))
    with pytest.raises(SopsError, match="the value at a is"):
        parse(GOOD.replace(line, "a: plain"), SopsFormat.YAML, "in.yaml")
    with pytest.raises(SopsError, match="the value at a is not encrypted"):
        parse(GOOD.replace(line, "a: 7"), SopsFormat.YAML, "in.yaml")


@pytest.mark.parametrize(
    ("pattern", "replacement", "why"),
    [
        (r"    mac: .*\n", "", "has no mac"),
        (r"    mac: ", "    mac: x", "mac is not an ENC"),
        (r"    lastmodified: .*\n", "    lastmodified: yesterday\n", "not a date and time"),
        (r"    lastmodified: .*\n", "    lastmodified: '2024-01-01T00:00:00'\n", "time zone"),
        (r"    age:\n", "    key_groups: [x]\n    age:\n", "key groups"),
        (r"    version:", "    encrypted_regex: x\n    version:", "more than one of"),
        (r"    version:", "    encrypted_comment_regex: x\n    version:", "not supported"),
        (r"    unencrypted_suffix: .*\n", "    unencrypted_regex: '('\n", "regular expression"),
        (r"    age:\n", "    age: 7\n    x:\n", "age is not a list"),
        (r"sops:\n", "sops: 7\nx:\n", "not a map"),
    ],
)
def test_malformed_metadata_is_named(pattern: str, replacement: str, why: str) -> None:
    text = re.sub(pattern, replacement, GOOD, count=1)
    assert text != GOOD
    with pytest.raises(SopsError, match=why) as err:
        parse(text, SopsFormat.YAML, "in.yaml")
    assert str(err.value).startswith("in.yaml: ")


@pytest.mark.parametrize(
    ("text", "fmt", "why"),
    [
        ("a: b\n", SopsFormat.YAML, "not a SOPS file"),
        ("- a\n", SopsFormat.YAML, "not a map"),
        ("a: [\n", SopsFormat.YAML, "line 2, column 1: not valid YAML"),
        ("a: 1\n---\nb: 2\n", SopsFormat.YAML, "exactly one document"),
        ("a: 1\na: 2\n", SopsFormat.YAML, "line 2: key 'a' is repeated"),
        ("? [a]\n: b\n", SopsFormat.YAML, "not a plain value"),
        ('{"a": 1, "a": 2}', SopsFormat.JSON, "key 'a' is repeated"),
        ("{", SopsFormat.JSON, "line 1, column 2: not valid JSON"),
        ("NOEQUALS\n", SopsFormat.DOTENV, "line 1: not a KEY=value line"),
        ('{"data": "x", "other": 1, "sops": {}}', SopsFormat.BINARY, "the sops metadata has no"),
    ],
)
def test_malformed_documents_are_named(text: str, fmt: SopsFormat, why: str) -> None:
    with pytest.raises(SopsError, match=why):
        parse(text, fmt, "in")


def test_a_binary_file_holds_only_data() -> None:
    text = encrypt("raw", SopsFormat.BINARY, [RECIPIENT], "b")
    extra = json.loads(text) | {"more": "x"}
    with pytest.raises(SopsError, match="holds only `data`"):
        parse(json.dumps(extra), SopsFormat.BINARY, "b")


def test_key_files_are_checked_and_never_quoted() -> None:
    secret = (FIXTURES / "flux-age.txt").read_text().splitlines()[-1]
    with pytest.raises(SopsError, match=r"k\.txt: no age identity"):
        AgeIdentities.from_text("# only a comment\n", "k.txt")
    with pytest.raises(SopsError, match=r"k\.txt:2: not an age identity") as err:
        AgeIdentities.from_text(f"{secret}\nssh-ed25519 AAAA\n", "k.txt")
    assert secret not in str(err.value)
    broken = secret[:-3] + "QQQ"
    with pytest.raises(SopsError, match=r"k\.txt:1: a malformed age identity") as err:
        AgeIdentities.from_text(broken, "k.txt")
    assert broken not in str(err.value) and secret[20:40] not in str(err.value)
    ids = AgeIdentities.from_text(secret, "k.txt")
    assert secret not in repr(ids) and "k.txt" in repr(ids)


def test_a_bad_recipient_is_named() -> None:
    with pytest.raises(SopsError, match="'age1nope' is not an age recipient"):
        encrypt("a: b\n", SopsFormat.YAML, ["age1nope"], "s.yaml")
    with pytest.raises(SopsError, match="no age recipient"):
        encrypt("a: b\n", SopsFormat.YAML, [], "s.yaml")


def test_an_already_encrypted_file_is_not_encrypted_again() -> None:
    with pytest.raises(SopsError, match="already encrypted"):
        encrypt(GOOD, SopsFormat.YAML, [RECIPIENT], "s.yaml")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400), st.sampled_from(list(SopsFormat)))
def test_random_text_never_escapes_as_another_exception(text: str, fmt: SopsFormat) -> None:
    with contextlib.suppress(SopsError):  # any other exception fails the test
        parse(text, fmt, "r").decrypt(IDS)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=len(GOOD) - 1), st.characters(codec="utf-8"))
def test_a_changed_character_of_a_real_file_is_refused_or_harmless(at: int, char: str) -> None:
    """Any one character of an encrypted file changed: refused with a SopsError, or (in
    whitespace, quoting or the wrapped key's armor) the same values under the same keys. As in
    sops itself, each value's authenticated data and the MAC cover the values and their keys'
    path, not list nesting: `  d: e` made `- d: e` decrypts to `c: [{d: e}]` (found by this
    test), which is a change anyone with push access could make to a plain file too."""
    text = GOOD[:at] + char + GOOD[at + 1 :]
    try:
        plain = parse(text, SopsFormat.YAML, "r").decrypt(IDS)
    except SopsError:
        return
    assert leaves(plain.tree) == [(("a",), 1), (("b",), "x"), (("b",), "y"), (("c", "d"), "e")]


def leaves(tree: object, keys: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], object]]:
    """Every value with the keys above it (list positions left out, as SOPS's paths do)."""
    if isinstance(tree, dict):
        return [leaf for k, v in tree.items() for leaf in leaves(v, (*keys, str(k)))]
    if isinstance(tree, list):
        return [leaf for item in tree for leaf in leaves(item, keys)]
    return [(keys, tree)]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("ABC=#\\n_\n sops_mac=ENC[]"), max_size=300))
def test_random_dotenv_never_escapes(text: str) -> None:
    with contextlib.suppress(SopsError):
        parse(text, SopsFormat.DOTENV, "r").decrypt(IDS)
