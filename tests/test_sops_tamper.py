"""A SOPS file changed after it was encrypted is refused: a changed byte of a value (GCM), of the
MAC, values swapped between keys (the AAD is the key path), reordered, dropped or added values
and a changed clear value (the MAC); a wrong key names the file and the key file. No message
holds a value or ciphertext."""

from __future__ import annotations

import re

import pytest

from syncd.errors import SopsDecryptError
from syncd.sops import SopsFormat, encrypt, parse
from tests.sops_support import FIXTURES, new_key

IDS, RECIPIENT = new_key("keys.txt")
PLAIN = "user: admin\npassword: hunter22\nlist:\n- first\n- second\nnote_unencrypted: hello\n"
TEXT = encrypt(PLAIN, SopsFormat.YAML, [RECIPIENT], "s.yaml")


def _enc(text: str, key: str) -> str:
    match = re.search(rf"^{key}: (ENC\[[^\]]+\])$", text, re.MULTILINE)
    assert match, key
    return match[1]


def _flip(enc: str, part: str = "data") -> str:
    """`enc` with one character of its base64 `part` changed (one byte differs)."""
    start = enc.index(f"{part}:") + len(part) + 1
    char = enc[start]
    return enc[:start] + ("B" if char != "B" else "C") + enc[start + 1 :]


def _refused(text: str, match: str) -> str:
    with pytest.raises(SopsDecryptError, match=match) as err:
        parse(text, SopsFormat.YAML, "s.yaml").decrypt(IDS)
    message = str(err.value)
    assert message.startswith("s.yaml: ")
    assert "hunter22" not in message and "ENC[" not in message and "admin" not in message
    return message


def test_the_untouched_file_decrypts() -> None:
    assert parse(TEXT, SopsFormat.YAML, "s.yaml").decrypt(IDS).tree["password"] == "hunter22"


def test_one_byte_of_a_value_is_refused_by_gcm() -> None:
    enc = _enc(TEXT, "password")
    message = _refused(TEXT.replace(enc, _flip(enc)), "the value at password does not decrypt")
    assert "tampered" in message


def test_one_byte_of_a_tag_or_iv_is_refused() -> None:
    enc = _enc(TEXT, "password")
    _refused(TEXT.replace(enc, _flip(enc, "tag")), "password does not decrypt")
    _refused(TEXT.replace(enc, _flip(enc, "iv")), "password does not decrypt")


def test_one_byte_of_the_mac_is_refused() -> None:
    mac = re.search(r"mac: (ENC\[[^\]]+\])", TEXT)
    assert mac
    _refused(TEXT.replace(mac[1], _flip(mac[1])), "the MAC does not decrypt")


def test_values_swapped_between_keys_do_not_decrypt() -> None:
    user, password = _enc(TEXT, "user"), _enc(TEXT, "password")
    swapped = TEXT.replace(user, "@@").replace(password, user).replace("@@", password)
    _refused(swapped, "the value at (user|password) does not decrypt")


def test_reordered_list_items_fail_the_mac() -> None:
    items = re.findall(r"^- (ENC\[[^\]]+\])$", TEXT, re.MULTILINE)
    assert len(items) == 2
    swapped = TEXT.replace(items[0], "@@").replace(items[1], items[0]).replace("@@", items[1])
    _refused(swapped, "MAC mismatch")


def test_a_dropped_value_fails_the_mac() -> None:
    dropped = TEXT.replace(f"user: {_enc(TEXT, 'user')}\n", "")
    _refused(dropped, "MAC mismatch")


def test_a_changed_clear_value_fails_the_mac() -> None:
    _refused(TEXT.replace("note_unencrypted: hello", "note_unencrypted: bye"), "MAC mismatch")


def test_an_added_clear_value_fails_the_mac() -> None:
    _refused(TEXT.replace("note_unencrypted: hello", "note_unencrypted: [hello, x]"), "MAC")


def test_a_changed_lastmodified_fails_the_mac() -> None:
    changed = re.sub(r"lastmodified: '[^']+'", "lastmodified: '2001-01-01T00:00:00Z'", TEXT)
    assert changed != TEXT
    _refused(changed, "the MAC does not decrypt")


def test_a_wrong_key_names_the_file_and_the_key_file() -> None:
    other, _ = new_key("/etc/syncd/other.txt")
    with pytest.raises(SopsDecryptError) as err:
        parse(TEXT, SopsFormat.YAML, "stacks/db.yaml").decrypt(other)
    message = str(err.value)
    assert message.startswith("stacks/db.yaml: no age key in /etc/syncd/other.txt opens it")
    assert RECIPIENT in message  # the recipients are public: they tell which key is needed


def test_a_tampered_real_sops_file_is_refused() -> None:
    from syncd.sops import AgeIdentities

    text = (FIXTURES / "flux-env.enc.env").read_text()
    key = AgeIdentities.from_file(FIXTURES / "flux-age.txt")
    value = re.search(r"^key=(ENC\[[^\]]+\])$", text, re.MULTILINE)
    assert value
    with pytest.raises(SopsDecryptError, match="the value at key does not decrypt"):
        parse(text.replace(value[1], _flip(value[1])), SopsFormat.DOTENV, "env").decrypt(key)
    extra = text.replace("sops_lastmodified", "ADDED_unencrypted=clear\nsops_lastmodified")
    with pytest.raises(SopsDecryptError, match="MAC mismatch"):
        parse(extra, SopsFormat.DOTENV, "env").decrypt(key)
