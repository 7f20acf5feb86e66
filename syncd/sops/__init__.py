"""SOPS files: the format the `sops` tool (3.x) writes, read and written with age keys.

A SOPS file keeps its structure (YAML, JSON, dotenv, or a binary blob as `{"data": …}` JSON) in
clear, each value encrypted with AES-256-GCM under one random data key; the data key is wrapped
for each age recipient, and a MAC over all values (encrypted with the data key) is verified on
every decrypt. `parse` needs no key (so CI can plan without one); `SopsDocument.decrypt` does.

The public API (others import these names from `syncd.sops`):
`SopsFormat`, `format_for`, `is_sops`, `parse`, `SopsDocument`, `Decrypted`, `AgeIdentities`,
`encrypt`. Errors: `syncd.errors.SopsError`, `syncd.errors.SopsDecryptError`.
Pure: no I/O beyond reading a key file.
"""

from syncd.sops.document import SopsDocument, is_sops, parse
from syncd.sops.encrypt import encrypt
from syncd.sops.formats import SopsFormat, format_for
from syncd.sops.identities import AgeIdentities
from syncd.sops.view import Decrypted

__all__ = [
    "AgeIdentities",
    "Decrypted",
    "SopsDocument",
    "SopsFormat",
    "encrypt",
    "format_for",
    "is_sops",
    "parse",
]
