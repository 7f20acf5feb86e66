"""The SOPS format: round trips for each format and type, the encryption rules, the metadata as
sops 3.9 writes it, the fingerprint, and what `Decrypted` gives (text, raw, env, lookup)."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from syncd.errors import SopsError
from syncd.sops import SopsFormat, encrypt, format_for, is_sops, parse
from tests.sops_support import new_key

IDS, RECIPIENT = new_key()

YAML_PLAIN = """\
name: web
port: 8080
ratio: 0.25
big: 1.0e+21
enabled: true
off: false
nothing: null
empty: ''
answer: 'yes'
when: 2024-01-02
unicode: "gr\\u00fc\\u00dfe \\u2603"
nested:
    deeper:
        password: s3cret
    list:
    - one
    - 2
    - three: 3
public_unencrypted:
    shown: in clear
"""


def test_format_by_extension_as_sops_chooses() -> None:
    cases = {
        "a.yaml": SopsFormat.YAML,
        "b.YML": SopsFormat.YAML,
        "c.json": SopsFormat.JSON,
        "d.env": SopsFormat.DOTENV,
        "secrets/.env": SopsFormat.BINARY,  # no extension: sops treats `.env` as a name
        "e.txt": SopsFormat.BINARY,
        "f": SopsFormat.BINARY,
    }
    assert {path: format_for(path) for path in cases} == cases


def test_yaml_round_trip_keeps_types_nesting_lists_and_unicode() -> None:
    text = encrypt(YAML_PLAIN, SopsFormat.YAML, [RECIPIENT], "s.yaml")
    assert is_sops(text, SopsFormat.YAML)
    for secret in ("s3cret", "8080", "web", "three"):
        assert not re.search(rf":\s*{secret}\b", text)
    assert "shown: in clear" in text  # `_unencrypted` keys stay in clear
    plain = parse(text, SopsFormat.YAML, "s.yaml").decrypt(IDS)
    expected = {
        "name": "web",
        "port": 8080,
        "ratio": 0.25,
        "big": 1e21,
        "enabled": True,
        "off": False,  # YAML 1.2, as sops reads it: `off` is a name, `yes` text, dates text
        "nothing": None,
        "empty": "",
        "answer": "yes",
        "when": "2024-01-02",
        "unicode": "grüße ☃",
        "nested": {"deeper": {"password": "s3cret"}, "list": ["one", 2, {"three": 3}]},
        "public_unencrypted": {"shown": "in clear"},
    }
    assert plain.tree == expected
    assert list(plain.tree) == list(expected)  # the order is kept (it is in the MAC)
    assert yaml.safe_load(plain.text()) == expected


def test_each_value_type_is_tagged_as_sops_tags_it() -> None:
    text = encrypt(YAML_PLAIN, SopsFormat.YAML, [RECIPIENT], "s.yaml")
    found = re.findall(r"^'?(\w+)'?: ENC\[AES256_GCM,.*,type:(\w+)\]$", text, re.MULTILINE)
    types = dict(found)
    assert types == {
        "name": "str",
        "port": "int",
        "ratio": "float",
        "big": "float",
        "enabled": "bool",
        "off": "bool",
        "answer": "str",
        "when": "str",
        "unicode": "str",
    }
    assert "nothing: null" in text and "empty: ''" in text  # sops leaves both as they are


def test_json_round_trip() -> None:
    plain = {"a": 1, "b": {"c": [1.5, False, "s", None]}, "d": "ünï", "e": -0.0}
    text = encrypt(json.dumps(plain), SopsFormat.JSON, [RECIPIENT], "s.json")
    encrypted = json.loads(text)
    assert encrypted["a"].startswith("ENC[") and encrypted["b"]["c"][3] is None
    assert encrypted["sops"]["kms"] is None and encrypted["sops"]["version"] == "3.9.4"
    decrypted = parse(text, SopsFormat.JSON, "s.json").decrypt(IDS)
    assert decrypted.tree == plain
    assert json.loads(decrypted.text()) == plain


def test_dotenv_round_trip_with_comments_newlines_and_empty_values() -> None:
    plain = "# database\nDB_USER=app\nDB_PASSWORD=p@ss=word\nMULTI=line1\\nline2\nEMPTY=\n"
    text = encrypt(plain, SopsFormat.DOTENV, [RECIPIENT], "s.env")
    lines = text.splitlines()
    assert lines[0].startswith("#ENC[AES256_GCM,") and lines[0].endswith("type:comment]")
    assert lines[1].startswith("DB_USER=ENC[") and "EMPTY=" in lines
    assert "sops_age__list_0__map_recipient=" + RECIPIENT in lines
    assert [ln.split("=", 1)[0] for ln in lines if ln.startswith("sops_")] == sorted(
        ln.split("=", 1)[0] for ln in lines if ln.startswith("sops_")
    )
    document = parse(text, SopsFormat.DOTENV, "s.env")
    assert document.keys == ("DB_USER", "DB_PASSWORD", "MULTI", "EMPTY")
    decrypted = document.decrypt(IDS)
    assert decrypted.text() == plain
    assert decrypted.env() == {
        "DB_USER": "app",
        "DB_PASSWORD": "p@ss=word",
        "MULTI": "line1\nline2",
        "EMPTY": "",
    }


def test_binary_round_trip_is_the_raw_data() -> None:
    plain = "-----BEGIN CERT-----\nAAAA\x00\x7f ünï\n"
    text = encrypt(plain, SopsFormat.BINARY, [RECIPIENT], "cert.pem")
    assert list(json.loads(text)) == ["data", "sops"]
    decrypted = parse(text, SopsFormat.BINARY, "cert.pem").decrypt(IDS)
    assert decrypted.tree == {"data": plain}
    assert decrypted.raw() == plain.encode()
    with pytest.raises(SopsError, match="no variables"):
        decrypted.env()


def test_several_recipients_each_decrypt() -> None:
    other, other_recipient = new_key("other")
    text = encrypt("a: b\n", SopsFormat.YAML, [RECIPIENT, other_recipient], "s.yaml")
    document = parse(text, SopsFormat.YAML, "s.yaml")
    assert document.recipients == (RECIPIENT, other_recipient)
    assert document.decrypt(IDS).tree == document.decrypt(other).tree == {"a": "b"}


def test_fingerprint_is_stable_changes_on_rewrite_and_needs_no_key() -> None:
    text = encrypt("a: b\n", SopsFormat.YAML, [RECIPIENT], "s.yaml")
    first = parse(text, SopsFormat.YAML, "s.yaml")
    assert first.fingerprint == parse(text, SopsFormat.YAML, "elsewhere.yaml").fingerprint
    assert re.fullmatch(r"[0-9a-f]{64}", first.fingerprint)
    again = encrypt("a: b\n", SopsFormat.YAML, [RECIPIENT], "s.yaml")
    assert parse(again, SopsFormat.YAML, "s.yaml").fingerprint != first.fingerprint


def test_lookup_and_env_name_keys_never_values() -> None:
    text = encrypt(YAML_PLAIN, SopsFormat.YAML, [RECIPIENT], "s.yaml")
    plain = parse(text, SopsFormat.YAML, "s.yaml").decrypt(IDS)
    assert plain.lookup("nested.deeper.password") == "s3cret"
    assert plain.lookup("port") == "8080" and plain.lookup("enabled") == "true"
    assert (
        plain.lookup("nested.list.2.three") == "3"
        and plain.lookup("big") == "1000000000000000000000"
    )
    with pytest.raises(SopsError, match=r"s\.yaml: no key 'nested\.nope'"):
        plain.lookup("nested.nope")
    with pytest.raises(SopsError, match="is a map or a list") as err:
        plain.lookup("nested.deeper")
    assert "s3cret" not in str(err.value)
    with pytest.raises(SopsError, match="'nested' is a map or a list"):
        plain.env()
    assert "s3cret" not in repr(plain)


def test_encryption_rules_of_a_real_file_are_honoured() -> None:
    """`encrypted_regex` (a Kubernetes Secret's `stringData` only), written by `encrypt`'s rules
    and read back from the metadata."""
    from syncd.sops.tree import Rules

    plain = "kind: Secret\nmetadata:\n    name: db\nstringData:\n    password: pw\n"
    text = encrypt(
        plain, SopsFormat.YAML, [RECIPIENT], "s.yaml", rules=Rules(encrypted_regex="^stringData$")
    )
    assert "kind: Secret" in text and "name: db" in text and "password: ENC[" in text
    assert "encrypted_regex: ^stringData$" in text and "unencrypted_suffix" not in text
    assert parse(text, SopsFormat.YAML, "s.yaml").decrypt(IDS).tree == yaml.safe_load(plain)


def test_the_metadata_is_written_as_sops_writes_it() -> None:
    text = encrypt("a: b\n", SopsFormat.YAML, [RECIPIENT], "s.yaml")
    meta = yaml.safe_load(text)["sops"]
    assert list(meta) == [
        "kms",
        "gcp_kms",
        "azure_kv",
        "hc_vault",
        "age",
        "lastmodified",
        "mac",
        "pgp",
        "unencrypted_suffix",
        "version",
    ]
    assert meta["age"][0]["recipient"] == RECIPIENT
    assert meta["age"][0]["enc"].startswith("-----BEGIN AGE ENCRYPTED FILE-----\n")
    assert "        enc: |\n" in text  # the armored key as a literal block
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["lastmodified"])
    assert re.fullmatch(r"ENC\[AES256_GCM,data:[^,]+,iv:[^,]+,tag:[^,]+,type:str\]", meta["mac"])


def test_is_sops_sniffs_each_format() -> None:
    for fmt, plain in (
        (SopsFormat.YAML, "a: b\n"),
        (SopsFormat.JSON, '{"a": "b"}'),
        (SopsFormat.DOTENV, "A=b\n"),
        (SopsFormat.BINARY, "raw"),
    ):
        assert not is_sops(plain, fmt)
        assert is_sops(encrypt(plain, fmt, [RECIPIENT], "f"), fmt)
