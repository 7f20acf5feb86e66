"""Files written by the real sops tool (3.7.1, 3.9.0) decrypt to their known values and their
MACs verify; a sops 3.13 file with only PGP recipients is read, and refused with a clear error.
Where each file comes from: tests/fixtures/sops/SOURCE.md."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from syncd.errors import SopsDecryptError
from syncd.sops import AgeIdentities, format_for, is_sops, parse
from syncd.sops.values import open_sealed, unpack
from tests.sops_support import FIXTURES

VECTORS: dict[str, tuple[str, dict[str, Any]]] = {
    "terragrunt-file.enc.yaml": (
        "terragrunt-keys.txt",
        {"secrets": {"SOME SECRET": "0x629A673A8242c2AC4B7B8C5D8735fbeac21A6205"}},
    ),
    "flux-age.enc.yaml": (
        "flux-age.txt",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "age"},
            "stringData": {"key": "value"},
        },
    ),
    "flux-env.enc.env": ("flux-age.txt", {"key": "value"}),
}


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_a_real_sops_file_decrypts_to_its_values(name: str) -> None:
    key_name, expected = VECTORS[name]
    text = (FIXTURES / name).read_text()
    fmt = format_for(name)
    assert is_sops(text, fmt)
    document = parse(text, fmt, name)
    assert document.recipients and document.keys == tuple(expected)
    plain = document.decrypt(AgeIdentities.from_file(FIXTURES / key_name))
    assert plain.tree == expected


# What the MAC covers: every value, in document order (clear ones too), as text.
MAC_INPUT = {
    "terragrunt-file.enc.yaml": ["0x629A673A8242c2AC4B7B8C5D8735fbeac21A6205"],
    "flux-age.enc.yaml": ["v1", "Secret", "age", "value"],
    "flux-env.enc.env": ["value"],
}


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_the_stored_mac_of_a_real_file_is_the_sha512_of_its_values(name: str) -> None:
    key = AgeIdentities.from_file(FIXTURES / VECTORS[name][0])
    document = parse((FIXTURES / name).read_text(), format_for(name), name)
    plain = document.decrypt(key)
    stored = open_sealed(unpack(document.meta.mac), plain.opened.key, document.meta.mac_aad)
    expected = hashlib.sha512("".join(MAC_INPUT[name]).encode()).hexdigest().upper()
    assert stored == expected


def test_a_real_file_with_a_changed_clear_value_fails_its_mac() -> None:
    """flux's Secret encrypts only `stringData` (`encrypted_regex`): its clear `metadata.name`
    is still covered by the MAC, so renaming the Secret is refused."""
    text = (FIXTURES / "flux-age.enc.yaml").read_text().replace("name: age", "name: other")
    with pytest.raises(SopsDecryptError, match=r"a\.yaml: MAC mismatch"):
        parse(text, format_for("a.yaml"), "a.yaml").decrypt(
            AgeIdentities.from_file(FIXTURES / "flux-age.txt")
        )


def test_the_same_key_in_a_file_of_several_keys_is_found() -> None:
    keys = (FIXTURES / "flux-age.txt").read_text() + (FIXTURES / "terragrunt-keys.txt").read_text()
    both = AgeIdentities.from_text("\n".join(keys.splitlines()) + "\n", "both.txt")
    assert len(both.recipients()) == 2
    for name in VECTORS:
        assert parse((FIXTURES / name).read_text(), format_for(name), name).decrypt(both).tree


def test_a_file_with_only_pgp_recipients_says_so() -> None:
    name = "sops-pgp-only.enc.yaml"
    document = parse((FIXTURES / name).read_text(), format_for(name), name)
    assert document.recipients == () and document.keys == ("foo",)
    with pytest.raises(SopsDecryptError, match=r"no age recipient: .* only for pgp"):
        document.decrypt(AgeIdentities.from_file(FIXTURES / "flux-age.txt"))
