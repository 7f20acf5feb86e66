"""`syncd secrets encrypt|decrypt|edit FILE`: SOPS files with age keys, for teams without the
`sops` binary. `encrypt` and `decrypt` print to standard output, as `sops` does; `edit` opens
the plain file (0600, in a private temporary folder) in `$EDITOR` and writes the file back
encrypted for the same recipients, under the same data key, only when the content changed."""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from syncd.errors import ExitCode, SopsError
from syncd.sops import AgeIdentities, SopsFormat, encrypt, format_for, parse
from syncd.sops.config import CONFIG_NAME, CreationRule, creation_rule
from syncd.sops.encrypt import reencrypt
from syncd.sops.formats import MAX_BYTES

KEY_FILE_ENV = "SOPS_AGE_KEY_FILE"
MAX_CONFIG_LEVELS = 100


def add_parser(sub: Any) -> None:
    """`syncd secrets` and its three commands on the `syncd` parser's subcommands."""
    parser = sub.add_parser(
        "secrets",
        help="encrypt, decrypt or edit a SOPS file with age keys",
        description="Read and write SOPS files (YAML, JSON, dotenv, binary) with age keys, as "
        f"the sops tool does. Exit codes: {ExitCode.OK} done, {ExitCode.ERROR} error.",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    enc = verbs.add_parser("encrypt", help="print FILE encrypted (recipients: --age-recipient)")
    enc.add_argument(
        "--age-recipient",
        action="append",
        default=[],
        metavar="R",
        help=f"age1… public key; repeatable (default: the {CONFIG_NAME} creation rule's age)",
    )
    enc.set_defaults(func=cmd_encrypt)
    dec = verbs.add_parser("decrypt", help="print FILE decrypted")
    dec.set_defaults(func=cmd_decrypt)
    edit = verbs.add_parser("edit", help="edit FILE in $EDITOR; re-encrypted when changed")
    edit.set_defaults(func=cmd_edit)
    for verb in (enc, dec, edit):
        verb.add_argument("file", metavar="FILE", type=Path)
        verb.add_argument(
            "--format",
            choices=[f.value for f in SopsFormat],
            help="the file's format (default: by extension, as sops: .yaml/.yml, .json, .env, "
            "else binary)",
        )
    for verb in (dec, edit):
        verb.add_argument(
            "--age-key-file", type=Path, help=f"age identities (default: ${KEY_FILE_ENV})"
        )


def cmd_encrypt(args: argparse.Namespace) -> int:
    path: Path = args.file
    chosen = _recipients(path, args.age_recipient)
    text = encrypt(_read(path), _format(args), chosen.recipients, str(path), rules=chosen.rules)
    sys.stdout.write(text)
    return ExitCode.OK


def cmd_decrypt(args: argparse.Namespace) -> int:
    path: Path = args.file
    document = parse(_read(path), _format(args), str(path))
    plain = document.decrypt(_identities(args.age_key_file))
    sys.stdout.flush()
    sys.stdout.buffer.write(plain.raw())
    sys.stdout.buffer.flush()
    return ExitCode.OK


def cmd_edit(args: argparse.Namespace) -> int:
    path: Path = args.file
    fmt = _format(args)
    document = parse(_read(path), fmt, str(path))
    plain = document.decrypt(_identities(args.age_key_file))
    before = plain.raw()
    with tempfile.TemporaryDirectory(prefix="syncd-secrets-") as folder:  # 0700
        scratch = Path(folder) / path.name
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(before)
        _run_editor(scratch)
        after = scratch.read_bytes()
    if after == before:
        print(f"syncd: {path}: unchanged", file=sys.stderr)
        return ExitCode.OK
    edited = after.decode("utf-8", "surrogateescape")
    text = reencrypt(document, plain, edited)
    _write_in_place(path, text)
    return ExitCode.OK


def _format(args: argparse.Namespace) -> SopsFormat:
    return SopsFormat(args.format) if args.format else format_for(str(args.file))


def _read(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_BYTES:
            raise SopsError(f"{path}: larger than {MAX_BYTES} bytes")
        return path.read_bytes().decode("utf-8", "surrogateescape")
    except OSError as err:
        raise SopsError(f"{path}: cannot read: {err.strerror or 'error'}") from None


def _identities(given: Path | None) -> AgeIdentities:
    path = given or (Path(os.environ[KEY_FILE_ENV]) if os.environ.get(KEY_FILE_ENV) else None)
    if path is None:
        raise SopsError(f"no age key: give --age-key-file or set {KEY_FILE_ENV}")
    return AgeIdentities.from_file(path)


def _recipients(path: Path, given: list[str]) -> CreationRule:
    """The recipients given, or those of the nearest `.sops.yaml` (from the file's folder up
    to the repository's root)."""
    if given:
        return CreationRule(tuple(given), None)
    folder = path.resolve().parent
    for _ in range(MAX_CONFIG_LEVELS):
        config = folder / CONFIG_NAME
        if config.is_file():
            relative = path.resolve().relative_to(folder).as_posix()
            rule = creation_rule(_read(config), relative, str(config))
            if rule is None:
                raise SopsError(f"{config}: no creation rule matches {relative}")
            return rule
        if (folder / ".git").exists() or folder.parent == folder:
            break
        folder = folder.parent
    raise SopsError(f"{path}: no --age-recipient given and no {CONFIG_NAME} found")


def _run_editor(scratch: Path) -> None:
    command = shlex.split(os.environ.get("EDITOR") or "vi")
    try:
        done = subprocess.run([*command, str(scratch)], check=False)
    except OSError as err:
        raise SopsError(f"cannot run the editor {command[0]!r}: {err.strerror}") from None
    if done.returncode != 0:
        raise SopsError(f"the editor exited with {done.returncode}: the file is left as it was")


def _write_in_place(path: Path, text: str) -> None:
    """Replace `path` atomically (a temporary file beside it, then a rename), keeping its mode."""
    mode = path.stat().st_mode & 0o777
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(text.encode("utf-8", "surrogateescape"))
        os.chmod(temp, mode)
        os.replace(temp, path)
    except OSError as err:
        Path(temp).unlink(missing_ok=True)
        raise SopsError(f"{path}: cannot write: {err.strerror or 'error'}") from None
